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
import statistics
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from harness import Harness, StrategyReader, console, covering_ms, percentile_cells, wait_for
from rich.table import Table

if TYPE_CHECKING:
    from producers.kafka import EventProducer
    from replay.timeline import Timeline


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
    with Harness("kafka") as h:
        run(h, args, year, event, speed)


def run(h: Harness, args: argparse.Namespace, year: int, event: str, speed: float | None) -> None:
    from producers.kafka import EventProducer
    from replay.simulate import publish_timeline
    from replay.timeline import build_timeline
    from schemas import LapEvent

    reader = None
    try:
        h.create_topics()
        t = time.perf_counter()
        timeline = build_timeline(year, event, args.session, settings=h.settings)
        console.print(
            f"timeline {timeline.title or timeline.session_key}: {len(timeline):,} events, "
            f"{timeline.total_laps} laps (built/loaded in {time.perf_counter() - t:.1f} s)"
        )
        reader = StrategyReader(h.settings)
        reader.start()

        started = time.monotonic()
        # In this process's session, as before the harness (a session is a scheduling group).
        services = [("worker", h.spawn("worker", "worker", new_session=False))]
        producer = EventProducer(h.settings.require_kafka)
        warm_up(timeline, producer, reader, services, args.warmup_laps)
        console.print(f"worker up and warm in {time.monotonic() - started:.1f} s")
        time.sleep(1.0)

        key = f"bench-{timeline.session_key}-{uuid.uuid4().hex[:8]}"
        race = timeline.with_session_key(key)
        laps = [e for e in race.events if isinstance(e, LapEvent)]
        console.print(f"replaying {key} at {'max' if speed is None else f'{speed:g}x'} speed")
        summary = publish_timeline(race, producer, speed=speed)
        got = updates_of(reader, key, laps, args.timeout, services)
        producer.close()
        report(timeline, race, laps, got, summary.seconds)
    finally:
        if reader is not None:
            reader.stop.set()


def warm_up(
    timeline: Timeline,
    producer: EventProducer,
    reader: StrategyReader,
    services: list[tuple[str, Any]],
    warmup_laps: int,
) -> None:
    """The first laps under a throw-away key, until a strategy update comes back."""
    from replay.simulate import publish_timeline
    from replay.timeline import Timeline
    from schemas import LapEvent

    warm_key = f"bench-warmup-{uuid.uuid4().hex[:8]}"
    warm = timeline.with_session_key(warm_key)
    cut = next(
        (
            i
            for i, e in enumerate(warm.events)
            if isinstance(e, LapEvent) and e.lap_number > warmup_laps
        ),
        len(warm.events),
    )
    publish_timeline(
        Timeline(warm_key, warm.events[:cut], warm.total_laps, title="warm-up"), producer
    )
    wait_for(lambda: reader.of(warm_key), 120, "the warm-up strategy update", services)


def updates_of(
    reader: StrategyReader,
    key: str,
    laps: list[Any],
    timeout: float,
    services: list[tuple[str, Any]],
) -> list[tuple[datetime, Any]]:
    """The race's strategy updates, once every lap is covered or (an update seen and)
    nothing new came for 5 s."""
    last_lap = max(e.produced_at for e in laps)

    def done() -> bool:
        got = reader.of(key)
        if not got:
            return False
        if max(ev.source_produced_at for _, ev in got) >= last_lap:
            return True
        return (datetime.now(UTC) - max(at for at, _ in got)).total_seconds() > 5.0

    wait_for(done, timeout, "strategy updates for the race", services)
    time.sleep(2.0)  # let stragglers (e.g. a last track-status update) arrive
    return reader.of(key)


def report(
    timeline: Timeline,
    race: Timeline,
    laps: list[Any],
    got: list[tuple[datetime, Any]],
    published_s: float,
) -> None:
    """The latency table, the counts and the throughput of the race."""
    first_produced = min(e.produced_at for e in race.events)
    last_source = max(e.produced_at for e in race.events)
    last_received = max(at for at, _ in got)
    pipeline_s = (last_received - first_produced).total_seconds()

    # Per strategy event: trigger produced -> received.
    trig_ms = [(at - ev.source_produced_at).total_seconds() * 1000 for at, ev in got]
    # Per lap event: produced -> first update received that covers it.
    lap_ms = [ms for _, ms in covering_ms(laps, got, received=True)]
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
        table.add_row(name, f"{len(vals):,}", *percentile_cells(vals))
    console.print(table)
    console.print(
        f"race {timeline.session_key}: {len(race):,} events ({len(laps):,} laps) published in "
        f"{published_s:.2f} s; {len(got):,} strategy updates "
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


if __name__ == "__main__":
    main()
