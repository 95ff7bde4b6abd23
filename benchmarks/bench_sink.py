"""Benchmark: timing rows per second into PostgreSQL, write path alone and from Kafka.

Uses DATABASE_URL / KAFKA_BOOTSTRAP when set, otherwise starts the embedded servers. The rows
are the real timing events of a 2023 race, repeated under several session keys.

    python benchmarks/bench_sink.py [--event Monaco] [--copies 8] [--batch 20000]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--event", default="Monaco")
    parser.add_argument("--copies", type=int, default=8)
    parser.add_argument("--batch", type=int, default=20_000)
    args = parser.parse_args()

    import os

    from pitwall.embedded import Stack
    from pitwall.settings import Settings, get_settings

    settings = get_settings()
    stack = None
    if not (settings.kafka_bootstrap and settings.database_url):
        stack = Stack(
            Settings(state_dir=Path(tempfile.mkdtemp()), redis_url="unused"), write_env_file=False
        )
        os.environ.update(stack.start())
        get_settings.cache_clear()
        settings = get_settings()
    try:
        import psycopg

        from consumers.db_schema import SCHEMA, row_values
        from consumers.pg_sink import PgWriter, run_pg_sink
        from producers.admin import create_topics
        from producers.kafka import EventProducer
        from replay.timeline import build_timeline

        timeline = build_timeline(2023, args.event)
        timing = [e for e in timeline.events if e.type == "timing"]
        table = SCHEMA["f1.timing.v1"]
        writer = PgWriter(psycopg.connect(settings.database_url, autocommit=True))
        run = f"bench{int(time.time())}"
        rows = [
            row_values(table, e.model_copy(update={"session_key": f"{run}-w{i}"}))
            for i in range(args.copies)
            for e in timing
        ]
        t = time.perf_counter()
        for i in range(0, len(rows), args.batch):
            writer.write({"f1.timing.v1": rows[i : i + args.batch]})
        dt = time.perf_counter() - t
        print(f"write path (COPY + upsert, rows already decoded): {len(rows):,} timing rows in "
              f"{dt:.2f} s = {len(rows) / dt:,.0f} rows/s")  # fmt: skip
        t = time.perf_counter()
        writer.write({"f1.timing.v1": rows[: args.batch]})
        dt = time.perf_counter() - t
        print(
            f"replayed duplicates: {args.batch:,} rows, 0 inserted, {args.batch / dt:,.0f} rows/s"
        )

        create_topics(settings.kafka_bootstrap)
        producer = EventProducer(settings.kafka_bootstrap)
        for i in range(args.copies):
            for e in timing:
                producer.publish(e.model_copy(update={"session_key": f"{run}-k{i}"}))
        producer.flush()
        want = len(timing) * args.copies
        done = threading.Event()
        t = time.perf_counter()
        sink = threading.Thread(
            target=run_pg_sink,
            args=(settings.kafka_bootstrap, settings.database_url, done.is_set),
            kwargs={"topics": ["f1.timing.v1"], "group": f"{run}-sink", "batch": args.batch},
        )
        sink.start()
        conn = psycopg.connect(settings.database_url, autocommit=True)
        n = 0
        while n < want and time.perf_counter() - t < 300:
            time.sleep(0.2)
            n = conn.execute(
                "SELECT count(*) FROM timing WHERE session_key LIKE %s", (f"{run}-k%",)
            ).fetchone()[0]
        dt = time.perf_counter() - t
        done.set()
        sink.join()
        print(f"end to end (Kafka -> decode -> COPY + upsert -> commit): {n:,} rows in {dt:.2f} s "
              f"= {n / dt:,.0f} rows/s")  # fmt: skip
    finally:
        if stack:
            stack.stop()


if __name__ == "__main__":
    main()
