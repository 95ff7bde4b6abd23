"""Benchmark: a full race replayed at max speed into the broker (events/s, total time).

Uses KAFKA_BOOTSTRAP when set, otherwise starts the embedded broker for the run. The
timeline is built (or loaded from the timeline cache) before timing starts: the figure is
the publish path only, from the first event sent to the last one acknowledged.

    python benchmarks/bench_replay.py [--year 2023] [--event Monaco] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--year", type=int, default=2023)
    parser.add_argument("--event", default="Monaco")
    parser.add_argument("--session", default="R")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    console = Console()

    from pitwall.core.settings import Settings, get_settings
    from pitwall.embedded import Stack

    settings = get_settings()
    stack = None
    bootstrap = settings.kafka_bootstrap
    if not bootstrap:
        state = Path(tempfile.mkdtemp(prefix="pitwall-bench-"))
        stack = Stack(
            Settings(state_dir=state, database_url="unused", redis_url="unused"),
            write_env_file=False,
        )
        bootstrap = stack.start()["KAFKA_BOOTSTRAP"]
        console.print(f"embedded broker at {bootstrap}")
    try:
        from producers.admin import create_topics
        from producers.kafka import EventProducer
        from replay.simulate import publish_timeline
        from replay.timeline import build_timeline

        create_topics(bootstrap, settings.kafka_partitions)
        t = time.perf_counter()
        timeline = build_timeline(args.year, args.event, args.session, settings=settings)
        console.print(
            f"timeline {timeline.title}: {len(timeline):,} events "
            f"(built/loaded in {time.perf_counter() - t:.1f} s, not timed below)"
        )
        producer = EventProducer(bootstrap)
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
    finally:
        if stack:
            stack.stop()


if __name__ == "__main__":
    main()
