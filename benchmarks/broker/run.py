"""One run of the broker benchmark: the stack and services as ``make demo`` starts them, a
race replayed by ``pitwall replay`` at its pace, the CPU of each process per interval while
it runs and after its flag, and how far each consumer group is behind at the flag and at
the end."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field

import psutil
from harness import WORKER_READY, Harness, console, free_port, wait_for, wait_http

from broker.meter import Meter, Row


def groups() -> dict[str, list[str]]:
    """The consumer groups whose lag is printed, with the topics each reads: the sinks' and
    the worker's (Faust's app id)."""
    from consumers.pg_sink import GROUP as PG
    from consumers.pg_sink import TOPICS as PG_TOPICS
    from consumers.redis_state import GROUP as REDIS
    from consumers.redis_state import TOPICS as REDIS_TOPICS
    from streams.app import INPUT_TOPICS

    return {
        PG: list(PG_TOPICS),
        REDIS: list(REDIS_TOPICS),
        "pitwall-worker": [t.name for t in INPUT_TOPICS],
    }


@dataclass
class RunResult:
    """The rows of the run and each group's lag (events behind, per topic) at two moments."""

    rows: list[Row] = field(default_factory=list)
    lag: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    replay_exit: int | None = None
    published: str = ""


def start_services(h: Harness) -> dict[str, subprocess.Popen]:
    """The worker, the sinks and the API, each as users start it; once all are ready."""
    h.create_topics()
    procs = {
        "worker": h.spawn("worker", "worker", "--log-level", "INFO"),
        "sink": h.spawn("sink", "sink"),
    }
    port = free_port()
    procs["api"] = h.spawn("api", "serve", "--port", str(port))
    named = list(procs.items())
    wait_http(f"http://127.0.0.1:{port}/health/live", 90, "api", procs["api"])
    wait_for(lambda: WORKER_READY in h.log_tail("worker", 10**7), 180, "the worker", named, 0.2)
    wait_for(lambda: "sink ready" in h.log_tail("sink", 10**7), 120, "the sinks", named, 0.2)
    return procs


def watch(meter: Meter, h: Harness, procs: dict[str, subprocess.Popen]) -> None:
    """Name the processes to meter: the broker, the worker, each sink, the API."""
    broker = next(s for s in h.stack.servers if s.env_var == "KAFKA_BOOTSTRAP")
    meter.watch("broker", broker.proc.pid)
    meter.watch("worker", procs["worker"].pid)
    kids = sorted(psutil.Process(procs["sink"].pid).children(), key=lambda p: p.pid)
    kids = [k for k in kids if "resource_tracker" not in " ".join(k.cmdline())]
    for name, kid in zip(("pg sink", "redis writer"), kids, strict=False):  # started in order
        meter.watch(name, kid.pid)
    meter.watch("api", procs["api"].pid)


def replay_args(args: argparse.Namespace) -> list[str]:
    year, event = args.race
    return [
        "replay", year, event, "--speed", args.speed, "--from-lap", "1",
        "--telemetry-every", str(args.telemetry_every), "--no-create-topics",
    ]  # fmt: skip


def prebuild(h: Harness, args: argparse.Namespace) -> None:
    """Build the race's timeline into the run's state directory, so that the replay process
    loads it in a second or two instead of parsing the source for half a minute."""
    from replay.timeline import build_timeline

    settings = h.settings.model_copy(update={"state_dir": h.state_dir or h.settings.state_dir})
    with console.status("building the race's timeline..."):
        tl = build_timeline(
            int(args.race[0]), args.race[1], settings=settings,
            telemetry_every=args.telemetry_every,
        )  # fmt: skip
    console.print(f"timeline {tl.title}: {len(tl):,} events, {tl.total_laps} laps")


def run(h: Harness, args: argparse.Namespace) -> RunResult:
    """Start everything, replay, meter the race and the time after it; the rows and lags."""
    result = RunResult()
    prebuild(h, args)
    procs = start_services(h)
    meter = Meter(args.interval, say)
    watch(meter, h, procs)
    console.print("services ready; replaying " + " ".join(replay_args(args)))
    replay = h.spawn("replay", *replay_args(args))
    meter.watch("replay", replay.pid)
    limit = args.minutes * 60 if args.minutes else None
    meter.run_phase("race", lambda: replay.poll() is not None, limit)
    result.replay_exit = stop_replay(h, replay)
    result.published = published_line(h)
    result.lag["at the flag"] = lags(h)
    meter.run_phase("after", lambda: False, args.after * 60)
    result.lag["at the end"] = lags(h)
    for name, proc in procs.items():
        if proc.poll() is not None:
            console.print(f"[red]{name} exited ({proc.returncode}) during the run[/]")
    result.rows = meter.rows
    return result


def say(row: Row) -> None:
    shares = "  ".join(f"{n} {v:5.1f}" for n, v in row.shares.items())
    console.print(
        f"{row.phase} min {row.index + 1:>2} ({row.seconds:3.0f} s): {shares}  others "
        f"{row.others:5.1f}  machine {row.machine:5.1f} (% of a core)"
    )


def stop_replay(h: Harness, replay: subprocess.Popen) -> int:
    """The replay's exit code, after Ctrl-C (it flushes and stops) if it still runs."""
    if replay.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(replay.pid, signal.SIGINT)
        try:
            replay.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(replay.pid, signal.SIGKILL)
            replay.wait()
    h.procs = [p for p in h.procs if p[1] is not replay]  # its 130 is no failure
    return replay.returncode


def published_line(h: Harness) -> str:
    """The replay summary's line of events published (from its log)."""
    lines = [ln for ln in h.log_tail("replay", 20_000).splitlines() if "max lag" in ln]
    return lines[-1].strip() if lines else ""


def lags(h: Harness) -> dict[str, dict[str, int]]:
    """Per group, per topic: events not yet committed (end offset - committed offset)."""
    from confluent_kafka import Consumer, TopicPartition

    from core.kafka import end_offsets
    from schemas.topics import ALL_TOPICS

    bootstrap = h.settings.require_kafka
    t = time.monotonic()
    ends = {
        (spec.name, p): end
        for spec in ALL_TOPICS
        for p, end in end_offsets(bootstrap, spec.name).items()
        if end > 0
    }
    out: dict[str, dict[str, int]] = {}
    for group, topics in groups().items():
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "log_level": 0})
        try:
            wanted = [TopicPartition(t, p) for t, p in ends if t in topics]
            got = c.committed(wanted, timeout=10)
        finally:
            c.close()
        behind: dict[str, int] = {}
        for tp in got:
            committed = tp.offset if tp.offset >= 0 else 0
            behind[tp.topic] = behind.get(tp.topic, 0) + ends[(tp.topic, tp.partition)] - committed
        out[group] = behind
    console.print(f"(lags read in {time.monotonic() - t:.1f} s)")
    return out
