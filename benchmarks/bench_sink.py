"""Benchmark: timing rows per second into PostgreSQL, write path alone and from Kafka.

Uses KAFKA_BOOTSTRAP / DATABASE_URL when set, otherwise starts the embedded servers (in a
temporary state directory, stopped at the end). The rows are the real timing events of 2023
races, repeated under fresh session keys until there are at least ``--rows`` of them:

* write path: decoded events -> rows -> binary COPY (+ the idempotent upsert), in batches as
  the sink makes them; then the same batches again (all duplicates: the upsert path);
* end to end: the events published to f1.timing.v1 first, then a fresh ``run_pg_sink``
  (the code ``pitwall sink`` runs) consumes, decodes, writes and commits them.

Target: >= 100k timing rows/s on the write path.

    python benchmarks/bench_sink.py [--events Monaco,Spain] [--rows 200000] [--batch 20000]
"""

from __future__ import annotations

import argparse
import gc
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", default="Monaco", help="2023 races, comma-separated")
    parser.add_argument("--rows", type=int, default=200_000, help="at least this many rows")
    parser.add_argument("--batch", type=int, default=20_000, help="rows per transaction")
    args = parser.parse_args()

    import os

    from pitwall.embedded import Stack
    from pitwall.settings import Settings, get_settings

    settings = get_settings()
    stack = None
    if not (settings.kafka_bootstrap and settings.database_url):
        state = Path(tempfile.mkdtemp(prefix="pitwall-bench-sink-"))
        stack = Stack(Settings(PITWALL_STATE_DIR=state, redis_url="unused"), write_env_file=False)
        print(f"starting the embedded broker and PostgreSQL in {state} ...")
        os.environ.update(stack.start())
        get_settings.cache_clear()
        settings = get_settings()
    try:
        run(settings, args)
    finally:
        if stack:
            stack.stop()
            shutil.rmtree(state, ignore_errors=True)


def run(settings, args) -> None:
    import psycopg
    from rich.progress import track

    from consumers.pg_sink import PgWriter, SinkStats, run_pg_sink
    from pitwall.gc_tuning import raise_gc_thresholds
    from producers.admin import create_topics
    from producers.kafka import EventProducer
    from replay.timeline import build_timeline
    from schemas.topics import TIMING

    timing = []
    for name in args.events.split(","):
        tl = build_timeline(2023, name.strip())
        timing += [e for e in tl.events if e.type == "timing"]
    copies = -(-args.rows // len(timing))
    run_id = f"bench-{uuid.uuid4().hex[:6]}"
    print(f"{len(timing):,} timing events of 2023 {args.events} x {copies} session keys")

    def events(tag: str):
        return (
            e.model_copy(update={"session_key": f"{run_id}-{tag}{i}"})
            for i in range(copies)
            for e in timing
        )

    raise_gc_thresholds()  # as run_pg_sink does in the sink's process
    decoded = list(events("w"))
    writer = PgWriter(psycopg.connect(settings.database_url, autocommit=True))
    batches = [decoded[i : i + args.batch] for i in range(0, len(decoded), args.batch)]
    for label in ("new rows", "replayed (all duplicates)"):
        added = 0
        t = time.perf_counter()
        for b in batches:
            added += writer.write({TIMING.name: b})["timing"]
        dt = time.perf_counter() - t
        print(
            f"write path, {label}: {len(decoded):,} timing rows in {dt:.2f} s = "
            f"{len(decoded) / dt:,.0f} rows/s ({added:,} added; batches of {args.batch:,}; "
            f"rows + binary COPY + upsert)"
        )

    # The sink's process holds none of these: drop them so they do not weigh on its collector.
    n_events = len(decoded)
    del decoded, batches
    gc.collect()
    create_topics(settings.kafka_bootstrap)
    producer = EventProducer(settings.kafka_bootstrap)
    for e in track(events("k"), total=n_events, description="publishing to f1.timing.v1"):
        producer.publish(e)
    producer.flush()
    producer.close()

    want = n_events
    stats = [SinkStats()]
    done, ready = threading.Event(), threading.Event()
    marks: dict[str, float] = {}

    def on_batch(s: SinkStats) -> None:
        stats[0] = s
        marks.setdefault("first", time.perf_counter())
        if sum(s.rows.values()) >= want:
            done.set()

    t0 = time.perf_counter()
    sink = threading.Thread(
        target=run_pg_sink,
        args=(settings.kafka_bootstrap, settings.database_url, done.is_set),
        kwargs={
            "topics": [TIMING.name],
            "group": f"{run_id}-sink",
            "batch": args.batch,
            "on_batch": on_batch,
            "on_ready": lambda: (marks.setdefault("ready", time.perf_counter()), ready.set()),
        },
    )
    sink.start()
    done.wait(600)
    t1 = time.perf_counter()
    done.set()
    sink.join()
    s = stats[0]
    consumed, added = sum(s.rows.values()), sum(s.inserted.values())
    start = marks.get("ready", t0)
    print(
        f"end to end (Kafka -> decode -> rows -> COPY + upsert -> commit): {consumed:,} events "
        f"({added:,} new rows) in {t1 - start:.2f} s = {consumed / (t1 - start):,.0f} rows/s "
        f"from partition assignment ({t1 - t0:.2f} s with the group join)"
    )


if __name__ == "__main__":
    main()
