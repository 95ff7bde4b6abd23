"""Benchmark: many races at once through the stream worker, on 1 and on 2 worker processes.

    python benchmarks/bench_sessions.py [--races 8] [--speed 20] [--laps 30] [--workers 1,2]
                                        [--partitions 4] [--launch processes|separate]

Issue 29's scale test (DESIGN.md: "8 races at 20x on 2 worker processes, lap -> strategy p99
< 200 ms"). Different 2023 races are replayed at the same time, each paced from lights out
at ``--speed`` (the hour of feed before the start goes at once, as ``simulate_live --from-lap
1`` does) and published with ``publish_timeline`` under a session key of its own. For each
``--workers`` count the benchmark starts a fresh embedded broker (unless KAFKA_BOOTSTRAP is
set), creates the topics with ``--partitions`` partitions per race topic, and starts the
worker as users do: ``python -m pitwall.cli worker --processes N`` (N processes in one
consumer group sharing the partitions; ``--launch separate``: N ``pitwall worker`` commands,
each in a session of its own). The session keys are chosen so that the races spread
evenly over the partitions (race i on partition i mod P), as hashing many keys does on
average; each key's partition is printed.

Before the races, one warm-up session per partition (three laps, at maximum speed) waits for
a strategy update from each, so every partition is assigned and the worker's first calls are
made. Then the races run; ``--laps K`` stops each replay after the leader's lap K (0: whole
races, ~5 min of real time per configuration at 20x) so that the default run of both
configurations takes about 7 min (the figures are of those laps: the output says so).

Printed per session and configuration, read by a plain consumer of f1.strategy.v1 in this
process:

- lap -> strategy p50/p99/max: for every lap event, its ``produced_at`` -> the ARRIVAL (at
  this reader) of the first strategy update that covers it (whose ``source_produced_at`` is
  at or after the lap's), the figure the target is judged on; beside it the p99 without lap
  1 (the races all start at once) and the p99 to that update's ``produced_at`` (the worker's
  clock: without the last hop to a reader); and the lap numbers of the slowest 1%;
- laps covered: the leader laps that got a strategy update of their own / leader laps
  replayed;
- where the time goes over all sessions: trigger produced -> strategy produced, of which
  ``recommend()`` with its Monte Carlo (``compute_ms``) and the rest (waiting behind other
  updates, hops, the battle forecast), and strategy produced -> received;
- CPU (user + sys seconds, and % of one core over the measured run) of each worker process,
  the broker and this process (the replays and the reader), the seconds each waited for a
  CPU while runnable, and how busy the whole machine was (other users' processes included);
- last, 1 against 2 workers per session, and whether the target was met.
"""

from __future__ import annotations

import argparse
import contextlib
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
from harness import Harness, StrategyReader, console, int_list, percentile, wait_for
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from core.settings import Settings, get_settings
from producers.kafka import EventProducer
from replay.clock import PacingClock
from replay.timeline import Timeline
from schemas import Envelope, LapEvent, StrategyEvent

#: 2023 races with a FastF1 cache in ../shared/data, without a long red flag (Australia's
#: three would leave the field parked for minutes of the run), in calendar order.
RACES = (
    "Bahrain",
    "Azerbaijan",
    "Miami",
    "Monaco",
    "Spain",
    "Canada",
    "Austria",
    "Britain",
    "Hungary",
    "Belgium",
    "Netherlands",
    "Italy",
)
TARGET_P99_MS = 200.0
READY = "[^Worker]: Ready"


# -- what the run reads and writes ---------------------------------------------------------
class PacedProducer(EventProducer):
    """The replay's producer, noting the leader lap it has published and how far behind the
    pacing schedule it ever was (a replay that cannot keep its speed would flatter the
    worker)."""

    def __init__(self, bootstrap: str, clock: PacingClock) -> None:
        super().__init__(bootstrap)
        self.clock = clock
        self.leader_lap = 0
        self.max_lag = 0.0
        self.done = False

    def publish(self, event: Envelope, *, stamp: bool = True) -> None:
        super().publish(event, stamp=stamp)
        if isinstance(event, LapEvent):
            self.leader_lap = max(self.leader_lap, event.lap_number)
            self.max_lag = max(self.max_lag, self.clock.lag(event.event_time.session_time))


@dataclass
class Race:
    """One race of the run: its timeline (cut after ``--laps``), and in a configuration the
    key it replays under and the copy of the timeline under that key (whose events the
    replay stamps with their ``produced_at``)."""

    name: str
    base: Timeline
    leader_laps: int
    key: str = ""
    timeline: Timeline | None = None
    partition: int = 0
    producer: PacedProducer | None = None
    thread: threading.Thread | None = None

    @property
    def laps(self) -> list[LapEvent]:
        assert self.timeline is not None
        return [e for e in self.timeline.events if isinstance(e, LapEvent)]


@dataclass
class SessionResult:
    """The figures of one session in one configuration."""

    name: str
    key: str
    partition: int
    leader_laps: int
    covered: int
    updates: int
    laps: int
    lap_received: list[tuple[int, float]]  # (lap number, ms) per covered lap
    lap_produced_ms: list[float]
    max_lag_s: float

    @property
    def lap_received_ms(self) -> list[float]:
        return [ms for _, ms in self.lap_received]

    @property
    def from_lap2_ms(self) -> list[float]:
        """Without lap 1, when every race of the run crosses the line in the same seconds
        (they all start at once)."""
        return [ms for lap, ms in self.lap_received if lap > 1]

    @property
    def p99(self) -> float:
        return percentile(self.lap_received_ms, 99)


@dataclass
class RunResult:
    """One configuration: its sessions, where the time went and the CPU it used."""

    workers: int
    sessions: list[SessionResult] = field(default_factory=list)
    hops: dict[str, list[float]] = field(default_factory=dict)
    #: name, user s, sys s, s waiting for a CPU
    cpu: list[tuple[str, float, float, float]] = field(default_factory=list)
    seconds: float = 0.0
    machine_busy: float = 0.0  # cores


# -- setting the races up ------------------------------------------------------------------
def cut(timeline: Timeline, laps: int) -> tuple[Timeline, int]:
    """``timeline`` up to the end of the leader's lap ``laps`` (the events before the first
    lap ``laps + 1`` is completed; 0: all of it) and the leader laps it holds."""
    held = max(e.lap_number for e in timeline.events if isinstance(e, LapEvent))
    end = next(
        (
            e.event_time.session_time
            for e in timeline.events
            if isinstance(e, LapEvent) and e.lap_number == laps + 1
        ),
        None,
    )
    if laps <= 0 or end is None:
        return timeline, held
    events = [e for e in timeline.events if e.event_time.session_time < end]
    return Timeline(timeline.session_key, events, timeline.total_laps, title=timeline.title), laps


def key_on(partition: int, partitions: int, stem: str) -> str:
    """A session key starting with ``stem`` whose events go to ``partition``."""
    from schemas.topics import partition_for

    n = 0
    while partition_for(f"{stem}-{n}", partitions) != partition:
        n += 1
    return f"{stem}-{n}"


def load_races(names: list[str], laps: int) -> list[Race]:
    from replay.timeline import build_timeline

    races = []
    with console.status("loading the races' timelines..."):
        for name in names:
            tl, leader_laps = cut(build_timeline(2023, name, settings=get_settings()), laps)
            races.append(Race(name, tl, leader_laps))
    return races


# -- measuring -----------------------------------------------------------------------------
def covering_ms(
    laps: list[LapEvent], got: list[tuple[datetime, StrategyEvent]], received: bool
) -> list[tuple[int, float]]:
    """Per lap, its number and ms from its produced_at to the earliest arrival
    (``received``) or produced_at of a strategy update covering it (source_produced_at at or
    after the lap's produced_at). Laps that no update covers are left out (they show in the
    laps counts)."""
    when = [(ev.source_produced_at, at if received else ev.produced_at) for at, ev in got]
    when = [(s, w) for s, w in when if s is not None]
    when.sort(key=lambda p: p[0])
    earliest = [w for _, w in when]
    for k in range(len(earliest) - 2, -1, -1):  # earliest time among updates from k on
        earliest[k] = min(earliest[k], earliest[k + 1])
    out, j = [], 0
    for lap in sorted(laps, key=lambda e: e.produced_at):
        while j < len(when) and when[j][0] < lap.produced_at:
            j += 1
        if j < len(when):
            out.append((lap.lap_number, (earliest[j] - lap.produced_at).total_seconds() * 1000))
    return out


def runq_wait(pid: int) -> float:
    """Seconds the threads of ``pid`` have spent runnable but waiting for a CPU (Linux's
    /proc/PID/task/*/schedstat, second field; 0 where it is not available): how much a
    process was held up by the others on the machine."""
    total = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += int(stat.read_text().split()[1])
    return total / 1e9


class CpuMeter:
    """User + sys CPU seconds of named processes (and a worker's process tree) between
    :meth:`start` and :meth:`stop`, the time they waited for a CPU, and how busy the whole
    machine was meanwhile."""

    def __init__(self, procs: dict[str, psutil.Process]) -> None:
        self.procs = procs
        self.before: dict[str, tuple[float, float, float]] = {}
        self.t0 = 0.0
        self.machine0: Any = None

    @staticmethod
    def tree(pid: int, name: str) -> dict[str, psutil.Process]:
        """``pid`` and its children, named: ``pitwall worker --processes N`` is a supervisor
        whose spawned children are the workers."""
        root = psutil.Process(pid)
        kids = [
            c
            for c in root.children(recursive=True)
            if "resource_tracker" not in " ".join(c.cmdline())
        ]
        if not kids:
            return {name: root}
        named = {f"{name} process {i + 1}": c for i, c in enumerate(kids)}
        return {f"{name} supervisor": root, **named}

    def _times(self) -> dict[str, tuple[float, float, float]]:
        out = {}
        for name, p in self.procs.items():
            try:
                t = p.cpu_times()
            except psutil.Error:
                continue
            out[name] = (t.user, t.system, runq_wait(p.pid))
        return out

    def start(self) -> None:
        self.before = self._times()
        self.t0 = time.monotonic()
        self.machine0 = psutil.cpu_times()

    def stop(self, result: RunResult) -> None:
        after = self._times()
        result.seconds = time.monotonic() - self.t0
        m0, m1 = self.machine0, psutil.cpu_times()
        idle = (m1.idle - m0.idle) + (getattr(m1, "iowait", 0) - getattr(m0, "iowait", 0))
        result.machine_busy = (sum(m1) - sum(m0) - idle) / result.seconds
        for name, (u, s, w) in after.items():
            u0, s0, w0 = self.before.get(name, (0.0, 0.0, 0.0))
            result.cpu.append((name, u - u0, s - s0, w - w0))


# -- one configuration ---------------------------------------------------------------------
def run_config(args: argparse.Namespace, races: list[Race], workers: int) -> RunResult:
    """Replay every race at once through ``workers`` worker processes; their figures."""
    result = RunResult(workers)
    with Harness("kafka") as h:
        h.create_topics(args.partitions)
        tag = uuid.uuid4().hex[:6]
        for i, race in enumerate(races):
            race.partition = i % args.partitions
            stem = f"bench-{tag}-{race.base.session_key}"
            race.key = key_on(race.partition, args.partitions, stem)
            race.timeline = race.base.with_session_key(race.key)
        console.print(
            "session keys (partition): "
            + ", ".join(f"{race.key} ({race.partition})" for race in races)
        )
        reader = StrategyReader(h.settings)
        reader.start()
        try:
            started = time.monotonic()
            services = start_workers(h, workers, args.launch)
            with console.status(f"starting {workers} worker process(es)..."):

                def ready() -> bool:
                    logs = "".join(h.log_tail(name, 10**7) for name, _ in services)
                    return logs.count(READY) >= workers

                wait_for(ready, 180, f"{workers} worker process(es) ready", services, 0.2)
                warm_up(h.settings, races[0].base, args.partitions, tag, reader, services)
            console.print(
                f"{workers} worker process(es) up and warm in {time.monotonic() - started:.1f} s"
            )
            time.sleep(1.0)
            servers = h.stack.servers if h.stack is not None else []
            broker = next((s for s in servers if s.env_var == "KAFKA_BOOTSTRAP"), None)
            procs: dict[str, psutil.Process] = {}
            for name, proc in services:
                procs.update(CpuMeter.tree(proc.pid, name))
            if broker is not None and broker.proc is not None:
                procs["broker (embedded Tansu)"] = psutil.Process(broker.proc.pid)
            procs[f"this process ({len(races)} replays + reader)"] = psutil.Process()
            meter = CpuMeter(procs)
            meter.start()
            replay(h.settings, args, races, reader, services)
            meter.stop(result)
            result.sessions = [session_result(race, reader.of(race.key)) for race in races]
            result.hops = hops([ev for race in races for ev in reader.of(race.key)])
        finally:
            reader.stop.set()
            reader.join(10)
    return result


def start_workers(h: Harness, workers: int, launch: str) -> list[tuple[str, Any]]:
    """Start ``workers`` worker processes in one consumer group, as users do: ``pitwall
    worker --processes N`` (one command, its processes in one session), or with ``launch``
    "separate" N ``pitwall worker`` commands, each in a session of its own (as from N
    terminals; Linux's autogroup scheduling then gives each its own share of the CPU)."""
    if workers == 1 or launch == "processes":
        cmd = ["worker", "--log-level", "INFO"]
        if workers > 1:
            cmd += ["--processes", str(workers)]
        return [("worker", h.spawn("worker", *cmd))]
    return [
        (f"worker {i + 1}", h.spawn(f"worker {i + 1}", "worker", "--log-level", "INFO"))
        for i in range(workers)
    ]


def warm_up(
    settings: Settings,
    timeline: Timeline,
    partitions: int,
    tag: str,
    reader: StrategyReader,
    services: list[tuple[str, Any]],
) -> None:
    """Three laps of a race on every partition at maximum speed, until each gets its strategy
    update: every partition is assigned and has been through the worker's code once."""
    from replay.simulate import publish_timeline

    short, _ = cut(timeline, 3)
    keys = [key_on(p, partitions, f"warmup-{tag}-p{p}") for p in range(partitions)]
    producer = EventProducer(settings.require_kafka)
    for key in keys:
        publish_timeline(short, producer, session_key=key)
    producer.close()
    wait_for(
        lambda: all(reader.of(k) for k in keys),
        180,
        "a warm-up strategy update on every partition",
        services,
        interval=0.2,
    )


def replay(
    settings: Settings,
    args: argparse.Namespace,
    races: list[Race],
    reader: StrategyReader,
    services: list[tuple[str, Any]],
) -> None:
    """Publish every race at once (a thread each), showing each one's progress, until every
    session's updates are in (its last leader lap covered, or nothing new for 10 s)."""
    from replay.simulate import publish_timeline

    speed = None if args.speed == "max" else float(args.speed)
    for race in races:
        clock = PacingClock(0.0, speed)
        race.producer = PacedProducer(settings.require_kafka, clock)

        def publish(race: Race = race, clock: PacingClock = clock) -> None:
            assert race.producer is not None
            assert race.timeline is not None
            publish_timeline(race.timeline, race.producer, speed=speed, from_lap=1, clock=clock)
            race.producer.done = True

        race.thread = threading.Thread(target=publish, name=f"replay-{race.name}", daemon=True)

    def finished(race: Race) -> bool:
        assert race.producer is not None
        if not race.producer.done:
            return False
        got = reader.of(race.key)
        if not got:
            return False
        last_lap = max(e.produced_at for e in race.laps)
        if any(ev.source_produced_at and ev.source_produced_at >= last_lap for _, ev in got):
            return True
        return (datetime.now(UTC) - max(at for at, _ in got)).total_seconds() > 10.0

    progress = Progress(
        TextColumn("{task.description:<11}"),
        BarColumn(),
        TextColumn("published lap {task.fields[pub]:>2}/{task.total:.0f}"),
        TextColumn("strategy for {task.completed:>2.0f} leader laps"),
        TextColumn("{task.fields[state]}"),
        TimeElapsedColumn(),
        console=console,
    )
    slowest = max(
        (r.base.events[-1].event_time.session_time - (r.base.lap_start_time(1) or 0)) for r in races
    )
    deadline = time.monotonic() + (slowest / speed if speed else 0) + args.timeout
    with progress:
        tasks = {
            r.key: progress.add_task(r.name, total=r.leader_laps, pub=0, state="") for r in races
        }
        for race in races:
            assert race.thread is not None
            race.thread.start()
        while True:
            for name, proc in services:
                if proc.poll() is not None:
                    raise SystemExit(f"the {name} exited ({proc.returncode}) during the run")
            done = 0
            for race in races:
                assert race.producer is not None
                laps = {ev.lap for _, ev in reader.of(race.key) if ev.lap <= race.leader_laps}
                complete = finished(race)
                done += complete
                progress.update(
                    tasks[race.key],
                    completed=len(laps),
                    pub=race.producer.leader_lap,
                    state="[green]done[/]" if complete else "",
                )
            if done == len(races):
                break
            if time.monotonic() > deadline:
                console.print("[red]timed out waiting for the strategy updates[/]")
                break
            time.sleep(0.25)
    time.sleep(2.0)  # stragglers (a last track-status update)
    for race in races:
        assert race.producer is not None
        race.producer.close()


def session_result(race: Race, got: list[tuple[datetime, StrategyEvent]]) -> SessionResult:
    leader = {ev.lap for _, ev in got if 1 <= ev.lap <= race.leader_laps}
    laps = race.laps
    assert race.producer is not None
    return SessionResult(
        name=race.name,
        key=race.key,
        partition=race.partition,
        leader_laps=race.leader_laps,
        covered=len(leader),
        updates=len(got),
        laps=len(laps),
        lap_received=covering_ms(laps, got, received=True),
        lap_produced_ms=[ms for _, ms in covering_ms(laps, got, received=False)],
        max_lag_s=race.producer.max_lag,
    )


def hops(got: list[tuple[datetime, StrategyEvent]]) -> dict[str, list[float]]:
    """Where the time of the updates goes, over every session."""
    ms: dict[str, list[float]] = defaultdict(list)
    for at, ev in got:
        if ev.source_produced_at is None:
            continue
        total = (ev.produced_at - ev.source_produced_at).total_seconds() * 1000
        ms["trigger produced -> strategy produced"].append(total)
        if ev.compute_ms is not None:
            ms["  of which recommend(), Monte Carlo (compute_ms)"].append(ev.compute_ms)
            ms["  of which the rest: in, queued, battles, out"].append(total - ev.compute_ms)
        ms["strategy produced -> received"].append((at - ev.produced_at).total_seconds() * 1000)
    return ms


# -- report --------------------------------------------------------------------------------
def worker_cpu(r: RunResult) -> float:
    """The worker processes' CPU (user + sys) as a share of one core over the run."""
    return sum(u + s for name, u, s, _ in r.cpu if name.startswith("worker")) / r.seconds


def cell(values: list[float], q: float) -> str:
    return f"{percentile(values, q):.0f}" if values else "-"


def print_run(r: RunResult, args: argparse.Namespace) -> None:
    how = "" if r.workers == 1 else f" ({args.launch})"
    table = Table(
        title=f"{r.workers} worker process(es){how}, {len(r.sessions)} races at {args.speed}x "
        "at once "
        "(lap -> strategy in ms: lap produced -> covering update RECEIVED by the reader)",
        title_justify="left",
    )
    for col in (
        "race",
        "part.",
        "leader laps with update",
        "updates",
        "laps (covered)",
        "p50",
        "p99",
        "max",
        "p99 from lap 2",
        "p99 to produced_at",
        "replay max lag s",
    ):
        table.add_column(col, justify="right")
    for s in r.sessions:
        table.add_row(
            s.name,
            str(s.partition),
            f"{s.covered}/{s.leader_laps}",
            f"{s.updates:,}",
            f"{s.laps:,} ({len(s.lap_received_ms):,})",
            cell(s.lap_received_ms, 50),
            cell(s.lap_received_ms, 99),
            cell(s.lap_received_ms, 100),
            cell(s.from_lap2_ms, 99),
            cell(s.lap_produced_ms, 99),
            f"{s.max_lag_s:.2f}",
        )
    every = [v for s in r.sessions for v in s.lap_received_ms]
    later = [v for s in r.sessions for v in s.from_lap2_ms]
    table.add_row(
        "all",
        "",
        "",
        "",
        f"{len(every):,}",
        cell(every, 50),
        cell(every, 99),
        cell(every, 100),
        cell(later, 99),
        "",
        "",
    )
    console.print(table)
    pairs = sorted((p for s in r.sessions for p in s.lap_received), key=lambda p: -p[1])
    slow = pairs[: max(len(pairs) // 100, 1)]
    by_lap = sorted(Counter(lap for lap, _ in slow).items(), key=lambda x: (-x[1], x[0]))
    console.print(
        f"the slowest 1% of laps ({len(slow)}, >= {slow[-1][1]:.0f} ms) by lap number: "
        + ", ".join(f"L{lap} x{n}" for lap, n in by_lap)
        if slow
        else "no laps covered"
    )

    hop = Table("where the time goes (ms, every update)", "n", "p50", "p99", "max")
    for name, vals in r.hops.items():
        hop.add_row(name, f"{len(vals):,}", cell(vals, 50), cell(vals, 99), cell(vals, 100))
    console.print(hop)

    cpu = Table(
        f"CPU over the measured {r.seconds:.0f} s",
        "user s",
        "sys s",
        "% of one core",
        "waited for a CPU s",
        title_justify="left",
    )
    for name, u, s, w in r.cpu:
        cpu.add_row(name, f"{u:.1f}", f"{s:.1f}", f"{(u + s) / r.seconds:.0%}", f"{w:.1f}")
    waited = sum(w for name, _, _, w in r.cpu if name.startswith("worker"))
    cpu.add_row("workers, total", "", "", f"{worker_cpu(r):.0%}", f"{waited:.1f}")
    console.print(cpu)
    ours = sum(u + s for _, u, s, _ in r.cpu) / r.seconds
    console.print(
        f"machine: {r.machine_busy:.2f} of {psutil.cpu_count()} cores busy on average, "
        f"{ours:.2f} of them this run's processes above, {max(r.machine_busy - ours, 0):.2f} "
        "other processes (a shared machine: others' work slows the run)"
    )


def print_comparison(results: list[RunResult], args: argparse.Namespace) -> None:
    table = Table(
        title="lap -> strategy received (ms) per session, by worker processes",
        title_justify="left",
    )
    table.add_column("session")
    for r in results:
        for col in ("p50", "p99", "laps covered"):
            table.add_column(f"{r.workers}w {col}", justify="right")
    for i, s in enumerate(results[0].sessions):
        row = [s.name]
        for r in results:
            o = r.sessions[i]
            row += [
                cell(o.lap_received_ms, 50),
                cell(o.lap_received_ms, 99),
                f"{o.covered}/{o.leader_laps}",
            ]
        table.add_row(*row)
    console.print(table)
    cpu = "; ".join(f"{r.workers} worker(s): {worker_cpu(r):.0%} of one core" for r in results)
    console.print(f"workers' CPU: {cpu}")
    two = next((r for r in results if r.workers == 2), None)
    if two is None:
        return
    worst = max(two.sessions, key=lambda s: s.p99)
    uncovered = [s.name for s in two.sessions if s.covered < s.leader_laps]
    met = worst.p99 < TARGET_P99_MS and not uncovered
    verdict = "[green]MET[/]" if met else "[red]NOT MET[/]"
    differs = []
    if len(two.sessions) != 8 or str(args.speed) != "20":
        differs.append(f"{len(two.sessions)} races at {args.speed}x, not 8 at 20x")
    if args.laps > 0:
        differs.append(f"the first {args.laps} leader laps of each")
    console.print(
        f"target (2 workers: p99 lap -> strategy < {TARGET_P99_MS:.0f} ms for every session, "
        f"8 races at 20x): {verdict}; worst p99 {worst.p99:.0f} ms ({worst.name})"
        + (f"; leader laps without an update in {', '.join(uncovered)}" if uncovered else "")
        + (f" (judged on this run: {'; '.join(differs)})" if differs else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--races",
        type=int,
        default=8,
        help=f"how many different 2023 races run at once, from: {', '.join(RACES)} (default 8)",
    )
    parser.add_argument("--speed", default="20", help="replay speed factor, or 'max' (default 20)")
    parser.add_argument(
        "--laps",
        type=int,
        default=30,
        help="stop each replay after the leader's lap K (default 30; 0: the whole race, "
        "~5 min per configuration at 20x)",
    )
    parser.add_argument(
        "--workers",
        default="1,2",
        type=int_list,
        help="worker process counts to run, one configuration each (default 1,2)",
    )
    parser.add_argument(
        "--partitions",
        type=int,
        default=4,
        help="partitions of each race topic (default 4, as compose.yaml; the worker processes "
        "share them, so more processes than partitions leaves some idle)",
    )
    parser.add_argument(
        "--launch",
        choices=("processes", "separate"),
        default="processes",
        help="several workers as one `pitwall worker --processes N` (default), or as N "
        "`pitwall worker` commands, each in a session of its own",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=180.0,
        help="give up waiting for strategy updates this long (s) after the slowest race "
        "should have ended (default 180)",
    )
    args = parser.parse_args()
    if not console.is_terminal:
        console.width = 120  # tables whole in a log or RESULTS.md
    if not 1 <= args.races <= len(RACES):
        parser.error(f"--races: 1 to {len(RACES)}")
    races = load_races(list(RACES[: args.races]), args.laps)
    laps = "whole races" if args.laps <= 0 else f"the first {args.laps} leader laps"
    console.print(
        f"run: {args.races} races of 2023 ({', '.join(r.name for r in races)}) at once at "
        f"{args.speed}x from lights out, {laps}; worker processes {args.workers}; "
        f"{args.partitions} partitions per race topic; {get_settings().kafka_fetch_wait_ms} ms "
        f"fetch wait; several workers started as "
        + (
            "`pitwall worker --processes N`"
            if args.launch == "processes"
            else "N `pitwall worker` commands, a session each"
        )
    )
    results = []
    for workers in args.workers:
        result = run_config(args, races, workers)
        print_run(result, args)
        results.append(result)
    print_comparison(results, args)


if __name__ == "__main__":
    main()
