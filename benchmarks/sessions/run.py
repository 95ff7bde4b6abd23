"""One configuration of the many-races benchmark: fresh servers, the worker processes started
as users start them, a warm-up on every partition, then every race replayed at once while a
plain reader of f1.strategy.v1 notes when each update arrives."""

from __future__ import annotations

import argparse
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import psutil
from harness import WORKER_READY, Harness, StrategyReader, console, wait_for
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from core.settings import Settings
from producers.kafka import EventProducer
from replay.clock import PacingClock
from replay.timeline import Timeline
from sessions.measure import CpuMeter, RunResult, hops, session_result
from sessions.races import PacedProducer, Race, cut, key_on


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
                    return logs.count(WORKER_READY) >= workers

                wait_for(ready, 180, f"{workers} worker process(es) ready", services, 0.2)
                warm_up(h.settings, races[0].base, args.partitions, tag, reader, services)
            console.print(
                f"{workers} worker process(es) up and warm in {time.monotonic() - started:.1f} s"
            )
            time.sleep(1.0)
            meter = CpuMeter(measured_processes(h, services, len(races)))
            meter.start()
            replay(h.settings, args, races, reader, services)
            meter.stop(result)
            result.rss_mb = sum(rss_mb(p) for n, p in meter.procs.items() if n.startswith("worker"))
            logs = "".join(h.log_tail(name, 10**8) for name, _ in services)
            result.released = logs.count("let go of: cached state dropped")
            result.deleted = logs.count("let go of: table rows deleted")
            result.sessions = [session_result(race, reader.of(race.key)) for race in races]
            result.hops = hops([ev for race in races for ev in reader.of(race.key)])
        finally:
            reader.stop.set()
            reader.join(10)
    return result


def rss_mb(proc: psutil.Process) -> float:
    """Resident memory of a process, MB (0 once it is gone)."""
    try:
        return proc.memory_info().rss / 2**20
    except psutil.Error:
        return 0.0


def measured_processes(
    h: Harness, services: list[tuple[str, Any]], races: int
) -> dict[str, psutil.Process]:
    """The processes whose CPU the run reports: the workers (each process of a worker
    command), the embedded broker when it runs, and this one."""
    servers = h.stack.servers if h.stack is not None else []
    broker = next((s for s in servers if s.env_var == "KAFKA_BOOTSTRAP"), None)
    procs: dict[str, psutil.Process] = {}
    for name, proc in services:
        procs.update(CpuMeter.tree(proc.pid, name))
    if broker is not None and broker.proc is not None:
        procs["broker (embedded Tansu)"] = psutil.Process(broker.proc.pid)
    procs[f"this process ({races} replays + reader)"] = psutil.Process()
    return procs


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
    speed = None if args.speed == "max" else float(args.speed)
    for race in races:
        prepare_replay(settings, race, speed)
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
        follow(progress, tasks, races, reader, services, deadline)
    time.sleep(2.0)  # stragglers (a last track-status update)
    for race in races:
        assert race.producer is not None
        race.producer.close()


def prepare_replay(settings: Settings, race: Race, speed: float | None) -> None:
    """Give ``race`` its paced producer and the thread that will publish it from lap 1."""
    from replay.simulate import publish_timeline

    clock = PacingClock(0.0, speed)
    race.producer = PacedProducer(settings.require_kafka, clock)

    def publish(race: Race = race, clock: PacingClock = clock) -> None:
        assert race.producer is not None
        assert race.timeline is not None
        publish_timeline(race.timeline, race.producer, speed=speed, from_lap=1, clock=clock)
        race.producer.done = True

    race.thread = threading.Thread(target=publish, name=f"replay-{race.name}", daemon=True)


def follow(
    progress: Progress,
    tasks: dict[str, TaskID],
    races: list[Race],
    reader: StrategyReader,
    services: list[tuple[str, Any]],
    deadline: float,
) -> None:
    """Show each race's progress until all are :func:`finished` or ``deadline`` passes; stop
    the benchmark if a worker exits."""
    while True:
        for name, proc in services:
            if proc.poll() is not None:
                raise SystemExit(f"the {name} exited ({proc.returncode}) during the run")
        done = 0
        for race in races:
            assert race.producer is not None
            laps = {ev.lap for _, ev in reader.of(race.key) if ev.lap <= race.leader_laps}
            complete = finished(race, reader)
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


def finished(race: Race, reader: StrategyReader) -> bool:
    """Whether ``race`` is published and its updates are in: its last lap covered, or no
    update for 10 s."""
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
