"""Benchmark: how long a worker stops while a second one joins and leaves its group.

    python benchmarks/bench_rebalance.py [--cycles 12] [--deadline 45] [--race 2023 Monaco]

Uses KAFKA_BOOTSTRAP when set (or a running ``pitwall up``), otherwise starts the embedded
broker for the run. Worker A runs the whole time, as users run it. Each cycle replays a whole
race at max speed through A alone (its tables and their changelogs grow, as over a race
weekend), then starts worker B in the same group and, once B is ready, publishes a probe (a
few events of a fresh session) and times until A, or whoever holds the partitions, has turned
it into features; then stops B and times a second probe. A probe not answered within
``--deadline`` seconds counts as a stall. Printed per cycle and summed up, with the number of
rebalances after which A re-read table changelogs before it went on (from A's log).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time
import uuid
from typing import Any

from harness import WORKER_READY, Harness, console, poll_until, wait_for
from rich.table import Table

REREAD = "Restoring state from changelog topics"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=12, help="join/leave cycles")
    parser.add_argument("--deadline", type=float, default=45.0, help="a stall after (s)")
    parser.add_argument(
        "--race", nargs=2, default=["2023", "Monaco"], metavar=("YEAR", "EVENT"), help="race"
    )
    args = parser.parse_args()
    with Harness("kafka") as h:
        run(h, args)


def run(h: Harness, args: argparse.Namespace) -> None:
    from producers.kafka import EventProducer

    producer = EventProducer(h.settings.require_kafka)
    try:
        cycles(h, args, producer)
    finally:
        producer.close()  # before the harness stops the broker


def cycles(h: Harness, args: argparse.Namespace, producer: Any) -> None:
    from replay.simulate import publish_timeline
    from replay.timeline import build_timeline

    h.create_topics()
    timeline = build_timeline(int(args.race[0]), args.race[1], settings=h.settings)
    probe_events = [e for e in timeline.events if e.type in ("session", "lap", "stint")][:120]

    def probe() -> float | None:
        return probe_features(h, producer, probe_events, args.deadline)

    start_worker(h, "A")
    wait_for(lambda: probe() is not None, 120, "worker A's first features", [])
    rows = []
    with console.status("cycles...") as status:
        for i in range(args.cycles):
            status.update(f"cycle {i + 1}/{args.cycles}: a race through A")
            t = time.monotonic()
            publish_timeline(
                timeline.with_session_key(f"race-{i}-{uuid.uuid4().hex[:6]}"), producer
            )
            probe()  # behind the race on the same partitions: answered once A is through it
            race_s = time.monotonic() - t
            status.update(f"cycle {i + 1}/{args.cycles}: B joins")
            second = start_worker(h, f"B{i}")
            time.sleep(0.5)
            joined = probe()
            second.terminate()  # SIGTERM: B leaves the group
            second.wait(30)
            left = probe()
            rows.append((race_s, joined, left))
            console.print(
                f"cycle {i + 1}: race {race_s:.1f} s; after join "
                f"{'STALL' if joined is None else f'{joined:.1f} s'}; after leave "
                f"{'STALL' if left is None else f'{left:.1f} s'}"
            )
    print_summary(rows, h.log_tail("A", 10**9).count(REREAD), args.cycles)


def probe_features(h: Harness, producer: Any, events: list[Any], deadline: float) -> float | None:
    """Seconds from publishing a probe session to its first features (None: a stall)."""
    from confluent_kafka import Consumer, TopicPartition

    from core.kafka import consumer_config, end_offsets, poll_batch
    from schemas import decode
    from schemas.topics import FEATURES

    key = f"probe-{uuid.uuid4().hex[:8]}"
    ends = end_offsets(h.settings.require_kafka, FEATURES.name)
    reader = Consumer(consumer_config(h.settings, None))
    reader.assign([TopicPartition(FEATURES.name, p, o) for p, o in ends.items()])
    try:
        for e in events:
            producer.publish(e.model_copy(update={"session_key": key}))
        producer.flush()
        start = time.monotonic()
        while time.monotonic() - start < deadline:
            for m in poll_batch(reader, 5000, 0.1):
                if decode(FEATURES.name, m.value()).session_key == key:
                    return time.monotonic() - start
        return None
    finally:
        reader.close()


def start_worker(h: Harness, name: str) -> subprocess.Popen:
    """Start a worker as ``name`` and wait until it is ready."""
    proc = h.spawn(name, "worker", "--log-level", "INFO")
    if not poll_until(lambda: WORKER_READY in h.log_tail(name, 10**7), 180) or proc.poll():
        raise SystemExit(f"{name} not ready:\n{h.log_tail(name)}")
    return proc


def print_summary(
    rows: list[tuple[float, float | None, float | None]], rereads: int, cycles: int
) -> None:
    """Probes answered and stalls, the probe times after a join and after a leave, and the
    rebalances after which worker A re-read its tables' changelogs."""
    probes = [p for _, j, lft in rows for p in (j, lft)]
    answered = [p for p in probes if p is not None]
    table = Table(title=f"{cycles} join/leave cycles, worker A throughout")
    for col in ("figure", "value"):
        table.add_column(col)
    table.add_row("probes answered / stalls", f"{len(answered)} / {probes.count(None)}")
    table.add_row(
        "after join: median / max (s)",
        _med_max([j for _, j, _ in rows if j is not None]),
    )
    table.add_row(
        "after leave: median / max (s)",
        _med_max([lft for _, _, lft in rows if lft is not None]),
    )
    table.add_row("race through A alone: median / max (s)", _med_max([r for r, _, _ in rows]))
    table.add_row("rebalances after which A re-read changelogs", str(rereads))
    console.print(table)


def _med_max(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):.1f} / {max(values):.1f}"


if __name__ == "__main__":
    main()
