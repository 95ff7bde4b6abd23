"""Benchmark: a full race replayed at max speed into the broker (events/s, total time).

Uses KAFKA_BOOTSTRAP when set, otherwise starts the embedded broker for the run. The
timeline is built (or loaded from the timeline cache) before timing starts: the figure is
the publish path only, from the first event sent to the last one acknowledged.

    python benchmarks/bench_replay.py [--year 2023] [--event Monaco] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

from harness import Harness, console
from rich.table import Table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--year", type=int, default=2023)
    parser.add_argument("--event", default="Monaco")
    parser.add_argument("--session", default="R")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with Harness("kafka") as h:
        from producers.kafka import EventProducer
        from replay.simulate import publish_timeline
        from replay.timeline import build_timeline

        h.create_topics()
        t = time.perf_counter()
        timeline = build_timeline(args.year, args.event, args.session, settings=h.settings)
        console.print(
            f"timeline {timeline.title}: {len(timeline):,} events "
            f"(built/loaded in {time.perf_counter() - t:.1f} s, not timed below)"
        )
        producer = EventProducer(h.settings.require_kafka)
        table = Table("run", "events", "seconds", "events/s")
        rates = []
        for i in range(args.repeat):
            summary = publish_timeline(
                timeline, producer, speed=None, session_key=f"bench-{timeline.session_key}-{i}"
            )
            rates.append(summary.events_per_second)
            table.add_row(
                str(i + 1),
                f"{summary.total:,}",
                f"{summary.seconds:.2f}",
                f"{summary.events_per_second:,.0f}",
            )
        producer.close()
        console.print(table)
        console.print(
            f"full-race replay at max speed: median {statistics.median(rates):,.0f} events/s, "
            f"{len(timeline) / statistics.median(rates):.2f} s per race"
        )


if __name__ == "__main__":
    main()
