"""Benchmark: a recorded live-timing feed through the live parser into the broker.

Prints the latency from a message's arrival at the parser to the broker's delivery ack of
its last event (p50/p95/p99), per event too, and messages/s. Two runs on the same feed:

* paced: lines arriving at their recorded times divided by ``--speed`` (5 by default: five
  times the live message rate, still far below the parser's capacity; ``--duration``
  limits the run to the feed's first seconds); acks are served while waiting for a line;
* max: lines arrive back to back (throughput; latency then includes queueing).

The default feed is the 2023 Monaco FP2 SignalR log (timing + CarData.z/Position.z of 20
cars, ~80 telemetry events per .z message). Uses KAFKA_BOOTSTRAP when set, otherwise
starts the embedded broker for the run. Target: p99 < 10 ms (paced).

    python benchmarks/bench_live.py [--feed PATH] [--speed 5] [--duration S] [--runs paced,max]
"""

from __future__ import annotations

import argparse
import statistics
import uuid
from pathlib import Path

from harness import Harness, percentile_cells
from rich.console import Console
from rich.table import Table

TELEMETRY = {"CarData.z", "Position.z"}


def _head(lines: list, seconds: float) -> list:
    """The lines of the first ``seconds`` of the feed."""
    from producers.live.archive import line_time

    out, start = [], None
    for line in lines:
        t = line_time(line.text)
        if t is not None:
            start = t if start is None else start
            if t - start > seconds:
                break
        out.append(line)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feed", type=Path, default=None, help="Recording or archive folder.")
    parser.add_argument("--speed", type=float, default=5.0, help="Pace of the paced run.")
    parser.add_argument(
        "--duration", type=float, default=None, help="Feed seconds of the paced run (all)."
    )
    parser.add_argument("--runs", default="paced,max", help="Comma-separated: paced, max.")
    args = parser.parse_args()
    console = Console(width=140)

    with Harness("kafka") as h:
        run(h, args, console)


def run(h: Harness, args: argparse.Namespace, console: Console) -> None:
    from core.gc import freeze_startup_objects
    from producers.live import LiveParser, read_feed
    from producers.live.publisher import LivePublisher, TimedEventProducer
    from replay.playback import play

    feed = args.feed or (
        h.settings.data_dir
        / "telemetry"
        / "livetiming_clips"
        / "raw"
        / "2023_monaco_fp2_signalr_log.txt"
    )
    h.create_topics()
    lines = list(read_feed(feed))
    console.print(f"feed {feed.name}: {len(lines):,} lines")
    table = Table(
        "run",
        "messages",
        "msgs/s",
        "events",
        "events/s",
        "latency of",
        "n",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "DLQ",
        title="message arrival at the parser -> broker ack of its last event",
    )
    head = lines if args.duration is None else _head(lines, args.duration)
    for kind in [r.strip() for r in args.runs.split(",") if r.strip()]:
        speed = args.speed if kind == "paced" else None
        played = head if kind == "paced" else lines
        producer = TimedEventProducer(h.settings.require_kafka)
        publisher = LivePublisher(producer, LiveParser(f"bench-live-{uuid.uuid4().hex[:6]}"))
        producer.warm_up()  # connect and learn the topics' leaders before timing
        freeze_startup_objects()  # as `pitwall live` does once it is set up
        summary = play(played, publisher, speed=speed, progress=False)
        stats = publisher.stats
        span = "all" if args.duration is None else f"{args.duration:g} s"
        label = f"paced {speed:g}x, {span}" if speed else "max speed, all"
        groups = {
            "all messages": [True] * len(producer.message_latency),
            "timing/laps/...": [t not in TELEMETRY for t in producer.message_topics],
            "telemetry (.z)": [t in TELEMETRY for t in producer.message_topics],
        }
        for n, (name, keep) in enumerate(groups.items()):
            ms = [x * 1000 for x, k in zip(producer.message_latency, keep, strict=True) if k]
            if not ms:
                continue
            first = n == 0
            table.add_row(
                label if first else "",
                f"{stats.messages:,}" if first else "",
                f"{stats.messages / summary.seconds:,.0f}" if first else "",
                f"{stats.events:,}" if first else "",
                f"{stats.events / summary.seconds:,.0f}" if first else "",
                name,
                f"{len(ms):,}",
                f"{statistics.median(ms):.2f}",
                *percentile_cells(ms, (95, 99), "{:.2f}"),
                f"{stats.dead_letters}" if first else "",
            )
        producer.close()
    console.print(table)
    console.print(
        "Messages that make no event (most TimingData deltas, heartbeats) are not counted. "
        "Target: p99 < 10 ms in the paced (live) run. A .z message holds ~4 samples of "
        "20 cars, ~80 events."
    )


if __name__ == "__main__":
    main()
