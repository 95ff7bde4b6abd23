"""Benchmark: a full race at max replay speed through the stream worker (latency, events/s).

    python benchmarks/bench_pipeline.py [--race 2023 Monaco] [--speed max|100]

Uses KAFKA_BOOTSTRAP when set (or a running ``pitwall up``), otherwise starts the embedded
broker for the run. It starts the worker as users do (``python -m pitwall.cli worker``), warms
it up with the first laps of the race under a throw-away session key (numba compilation,
group join), then replays the whole race (max speed, or --speed) under a fresh key while a plain
confluent-kafka consumer (assign, no group) reads ``f1.strategy.v1``. Printed:

- per lap event, produced_at -> the first strategy event received that covers it (its
  ``source_produced_at`` is at or after the lap's ``produced_at``): p50/p95/p99/max;
- per strategy event, its trigger's produced_at -> received (the same figure for the laps
  that triggered an update directly);
- the worker's input events/s and the total pipeline time for the race (first event
  produced -> last strategy update received).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    idx = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[idx]


class StrategyReader(threading.Thread):
    """A plain consumer of f1.strategy.v1 from the current end: (received_at, event) pairs."""

    def __init__(self, settings) -> None:
        super().__init__(daemon=True)
        from confluent_kafka import Consumer, TopicPartition

        from pitwall.core.kafka import consumer_config, end_offsets
        from schemas.topics import STRATEGY

        self.consumer = Consumer(consumer_config(settings, None))
        ends = end_offsets(settings.require_kafka, STRATEGY.name)
        tps = [TopicPartition(STRATEGY.name, p, o) for p, o in ends.items()]
        self.consumer.assign(tps)
        self.received: list[tuple[datetime, object]] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def run(self) -> None:
        from pitwall.core.kafka import poll_batch
        from schemas import decode
        from schemas.topics import STRATEGY

        while not self.stop.is_set():
            for msg in poll_batch(self.consumer, 1000, 0.05):
                at = datetime.now(UTC)
                ev = decode(STRATEGY.name, msg.value())
                with self.lock:
                    self.received.append((at, ev))
        self.consumer.close()

    def of(self, session_key: str) -> list[tuple[datetime, object]]:
        with self.lock:
            return [(at, ev) for at, ev in self.received if ev.session_key == session_key]


def wait_for(predicate, timeout: float, what: str, worker: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if worker.poll() is not None:
            raise SystemExit(f"the worker exited ({worker.returncode}) while waiting for {what}")
        time.sleep(0.02)
    raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--race", nargs=2, default=["2023", "Monaco"], metavar=("YEAR", "EVENT"), help="race"
    )
    parser.add_argument("--session", default="R")
    parser.add_argument(
        "--speed",
        default="max",
        help="replay speed: 'max' (default; throughput and total time) or a factor, e.g. 100 "
        "(latency when the worker is not behind)",
    )
    parser.add_argument("--warmup-laps", type=int, default=3)
    parser.add_argument(
        "--timeout", type=float, default=180.0, help="give up after (s) once all is published"
    )
    args = parser.parse_args()
    year, event = int(args.race[0]), args.race[1]
    speed = None if args.speed == "max" else float(args.speed)
    console = Console()

    from pitwall.core.settings import Settings, get_settings
    from pitwall.embedded import Stack

    settings = get_settings()
    stack = None
    bootstrap = settings.kafka_bootstrap
    env = dict(os.environ)
    if not bootstrap:
        state = Path(tempfile.mkdtemp(prefix="pitwall-bench-"))
        stack = Stack(
            Settings(state_dir=state, database_url="unused", redis_url="unused"),
            write_env_file=False,
        )
        bootstrap = stack.start()["KAFKA_BOOTSTRAP"]
        os.environ["KAFKA_BOOTSTRAP"] = bootstrap
        env["KAFKA_BOOTSTRAP"] = bootstrap
        env["PITWALL_STATE_DIR"] = str(state)
        get_settings.cache_clear()
        console.print(f"embedded broker at {bootstrap}")
    worker = None
    reader = None
    log_path = Path(tempfile.mkstemp(prefix="pitwall-bench-worker-", suffix=".log")[1])
    try:
        from producers.admin import create_topics
        from producers.kafka import EventProducer
        from replay.simulate import publish_timeline
        from replay.timeline import Timeline, build_timeline
        from schemas import LapEvent

        create_topics(bootstrap, settings.kafka_partitions)
        t = time.perf_counter()
        timeline = build_timeline(year, event, args.session, settings=settings)
        console.print(
            f"timeline {timeline.title or timeline.session_key}: {len(timeline):,} events, "
            f"{timeline.total_laps} laps (built/loaded in {time.perf_counter() - t:.1f} s)"
        )
        reader = StrategyReader(get_settings())
        reader.start()

        started = time.monotonic()
        with open(log_path, "wb") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "pitwall.cli", "worker"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO,
            )
        producer = EventProducer(bootstrap)

        # Warm-up: the first laps under a throw-away key, until a strategy update comes back.
        warm_key = f"bench-warmup-{uuid.uuid4().hex[:8]}"
        warm = timeline.with_session_key(warm_key)
        cut = next(
            (
                i
                for i, e in enumerate(warm.events)
                if isinstance(e, LapEvent) and e.lap_number > args.warmup_laps
            ),
            len(warm.events),
        )
        publish_timeline(
            Timeline(warm_key, warm.events[:cut], warm.total_laps, title="warm-up"), producer
        )
        wait_for(lambda: reader.of(warm_key), 120, "the warm-up strategy update", worker)
        console.print(f"worker up and warm in {time.monotonic() - started:.1f} s")
        time.sleep(1.0)

        key = f"bench-{timeline.session_key}-{uuid.uuid4().hex[:8]}"
        race = timeline.with_session_key(key)
        laps = [e for e in race.events if isinstance(e, LapEvent)]
        console.print(f"replaying {key} at {'max' if speed is None else f'{speed:g}x'} speed")
        summary = publish_timeline(race, producer, speed=speed)
        last_source = max(e.produced_at for e in race.events)
        last_lap = max(e.produced_at for e in laps)

        def done() -> bool:
            """Every lap covered, or (an update seen and) nothing new for 5 s."""
            got = reader.of(key)
            if not got:
                return False
            if max(ev.source_produced_at for _, ev in got) >= last_lap:
                return True
            return (datetime.now(UTC) - max(at for at, _ in got)).total_seconds() > 5.0

        wait_for(done, args.timeout, "strategy updates for the race", worker)
        time.sleep(2.0)  # let stragglers (e.g. a last track-status update) arrive
        got = reader.of(key)
        producer.close()

        first_produced = min(e.produced_at for e in race.events)
        last_received = max(at for at, _ in got)
        pipeline_s = (last_received - first_produced).total_seconds()

        # Per strategy event: trigger produced -> received.
        trig_ms = [(at - ev.source_produced_at).total_seconds() * 1000 for at, ev in got]
        # Per lap event: produced -> first update received that covers it.
        by_source = sorted(got, key=lambda p: p[1].source_produced_at)
        lap_ms: list[float] = []
        j = 0
        best_after: list[datetime] = [at for at, _ in by_source]
        # earliest receive time among updates whose source is at or after each position
        for k in range(len(best_after) - 2, -1, -1):
            best_after[k] = min(best_after[k], best_after[k + 1])
        for lap in sorted(laps, key=lambda e: e.produced_at):
            while j < len(by_source) and by_source[j][1].source_produced_at < lap.produced_at:
                j += 1
            if j < len(by_source):
                lap_ms.append((best_after[j] - lap.produced_at).total_seconds() * 1000)
        triggers = {(ev.trigger_driver, ev.trigger_lap) for _, ev in got if ev.trigger == "lap"}
        leader_laps = sorted({ev.lap for _, ev in got})
        compute = [ev.compute_ms for _, ev in got if ev.compute_ms is not None]

        # Where the time of the lap-triggered updates goes: into the worker and through its
        # processing (decode, state, features, degradation, recommend()), then out to a reader.
        hop_in = [(ev.produced_at - ev.source_produced_at).total_seconds() * 1000 for _, ev in got]
        hop_out = [(at - ev.produced_at).total_seconds() * 1000 for at, ev in got]

        table = Table("latency (ms)", "n", "p50", "p95", "p99", "max")
        for name, vals in (
            ("lap produced -> covering strategy received", lap_ms),
            ("trigger produced -> its strategy received", trig_ms),
            ("  of which: trigger produced -> strategy produced", hop_in),
            ("  of which: strategy produced -> received", hop_out),
            ("recommend() compute_ms", compute),
        ):
            table.add_row(
                name,
                f"{len(vals):,}",
                *(f"{percentile(vals, q):.1f}" for q in (50, 95, 99, 100)),
            )
        console.print(table)
        console.print(
            f"race {timeline.session_key}: {len(race):,} events ({len(laps):,} laps) published in "
            f"{summary.seconds:.2f} s; {len(got):,} strategy updates "
            f"({len(triggers):,} lap-triggered, leader laps {leader_laps[0]}-{leader_laps[-1]}, "
            f"{len(leader_laps)} distinct), {len(lap_ms):,}/{len(laps):,} laps covered"
        )
        console.print(
            f"worker throughput: {len(race) / pipeline_s:,.0f} input events/s; "
            f"total pipeline time for the race: {pipeline_s:.2f} s "
            f"(first event produced -> last strategy update received; "
            f"last input produced {(last_source - first_produced).total_seconds():.2f} s in); "
            f"median compute {statistics.median(compute) if compute else float('nan'):.1f} ms"
        )
    finally:
        if reader is not None:
            reader.stop.set()
        if worker is not None and worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()
        if worker is not None and worker.returncode not in (0, -15):
            console.print(f"worker exit code {worker.returncode}; log: {log_path}")
        if stack:
            stack.stop()


if __name__ == "__main__":
    main()
