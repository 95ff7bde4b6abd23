"""``pitwall sink``: the PostgreSQL sink and the Redis writer side by side, until stopped.

Each runs in its own process with its own consumer group (``pitwall-sink-pg``,
``pitwall-sink-redis``): the PostgreSQL sink's decoding of big batches would otherwise hold
the GIL while the Redis writer has live updates to push (seconds of delay during a max-speed
replay, when they shared a process). ``pg_processes`` > 1 runs that many PostgreSQL sink processes
in its group, sharing the partitions: decoding is what limits one process (see
``benchmarks/bench_sink.py``). SIGINT/SIGTERM stop both after their current batch (offsets of
written batches are committed). Each reports its counts at most every ``report_every``
seconds while busy, and at the end. "sink ready" is reported once every consumer has its
partitions, so whoever starts the sink can publish without racing the group join.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import signal
import time
from collections.abc import Callable
from multiprocessing.synchronize import Event

from core.settings import Settings

log = logging.getLogger(__name__)


def _run_child(
    name: str,
    settings: Settings,
    from_beginning: bool,
    stop: Event,
    ready: Event,
    report: Callable[[str], None],
    report_every: float,
) -> None:
    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    last = [time.monotonic()]

    def every(text: Callable[[], str]) -> None:
        if time.monotonic() - last[0] >= report_every:
            last[0] = time.monotonic()
            report(text())

    if name.startswith("pg-sink"):
        label = name.replace("pg-sink", "pg")  # pg, or pg[i] with several processes
        from consumers.pg_sink import SinkStats, run_pg_sink

        final: SinkStats = run_pg_sink(
            settings,
            stop.is_set,
            from_beginning=from_beginning,
            on_batch=lambda s: every(lambda: s.summary(label)),
            on_ready=ready.set,
        )
        report(final.summary(label))
    else:
        from consumers.redis_state import run_redis_writer

        applied = run_redis_writer(
            settings,
            stop.is_set,
            from_beginning=from_beginning,
            on_batch=lambda n: every(lambda: f"redis: {n:,} events applied"),
            on_ready=ready.set,
        )
        report(f"redis: {applied:,} events applied")


def _child_main(*args: object) -> None:
    try:
        _run_child(*args)  # type: ignore[arg-type]
    except Exception:
        logging.getLogger(__name__).exception("%s failed", args[0])
        raise SystemExit(1) from None


def run(
    settings: Settings,
    only: str | None = None,
    from_beginning: bool = False,
    report: Callable[[str], None] = print,
    report_every: float = 10.0,
    pg_processes: int = 1,
) -> None:
    """Run the sinks until SIGINT/SIGTERM; raise SystemExit when one of them failed."""
    if pg_processes < 1:
        raise ValueError(f"pg_processes must be at least 1, got {pg_processes}")
    ctx = mp.get_context("fork")  # no thread or client exists yet: forking is safe and quick
    stop = ctx.Event()
    names: list[str] = []
    if only in (None, "pg"):
        several = pg_processes > 1
        names += [f"pg-sink[{i}]" if several else "pg-sink" for i in range(pg_processes)]
    if only in (None, "redis"):
        names.append("redis-writer")
    readies = {n: ctx.Event() for n in names}
    procs = [
        ctx.Process(
            target=_child_main,
            args=(n, settings, from_beginning, stop, readies[n], report, report_every),
            name=n,
        )
        for n in names
    ]

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    for p in procs:
        p.start()
    report(f"sink running ({', '.join(names)}); Ctrl-C stops it")
    announced = False
    while any(p.is_alive() for p in procs):
        for p in procs:
            p.join(0.1)
            if p.exitcode not in (None, 0):
                stop.set()  # one failed: stop the other one too
        if not announced and all(e.is_set() for e in readies.values()):
            report(f"sink ready: {', '.join(names)} consuming")
            announced = True
    failed = [p.name for p in procs if p.exitcode != 0]
    report("sink stopped" + (f"; failed: {', '.join(failed)}" if failed else ""))
    if failed:
        raise SystemExit(f"sink failed: {', '.join(failed)} (see the log above)")
