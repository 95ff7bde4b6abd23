"""Benchmark: timing rows per second into PostgreSQL, write path alone and from Kafka.

Uses KAFKA_BOOTSTRAP / DATABASE_URL when set, otherwise starts the embedded servers (in a
temporary state directory, stopped at the end). The rows are the real timing events of 2023
races, repeated under fresh session keys until there are at least ``--rows`` of them:

* write path: decoded events -> rows -> binary COPY (+ the idempotent upsert), in batches as
  the sink makes them; then the same batches again (all duplicates: the upsert path);
* end to end: the events published to f1.timing.v1 first, then ``run_pg_sink`` (the code
  ``pitwall sink`` runs) consumes, decodes, writes and commits them, once in one process and
  once in two processes of one consumer group (``pitwall sink --pg-processes 2``); the rows
  are deleted between the runs so each run adds them all.

Target: >= 100k timing rows/s. With the embedded PostgreSQL it measures both durability
modes (``--durability durable,fast``): durable, the default (``PITWALL_PG_DURABLE=1``), and
fast (fsync, synchronous_commit and full_page_writes off), what the tests run.

    python benchmarks/bench_sink.py [--events Monaco,Spain] [--rows 200000] [--batch 20000]
                                    [--processes 1,2] [--partitions 4]
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing as mp
import os
import time
import uuid

from harness import Harness, int_list

from core.settings import get_settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", default="Monaco", help="2023 races, comma-separated")
    parser.add_argument("--rows", type=int, default=200_000, help="at least this many rows")
    parser.add_argument("--batch", type=int, default=20_000, help="rows per transaction")
    parser.add_argument(
        "--partitions",
        type=int,
        default=4,
        help="partitions of the race topics, if this creates them (several sink processes "
        "share a bulk load only as far as the timing topic has partitions; a live race "
        "needs one: PITWALL_PARTITIONS)",
    )
    parser.add_argument(
        "--processes",
        default="1,2",
        type=int_list,
        help="end-to-end runs with this many sink processes each, comma-separated",
    )
    parser.add_argument(
        "--durability",
        default="durable,fast",
        type=lambda v: v.split(","),
        help="embedded PostgreSQL modes to measure, comma-separated: durable (fsync, "
        "synchronous_commit, full_page_writes on: the default, PITWALL_PG_DURABLE=1) and fast "
        "(all three off: PITWALL_PG_DURABLE=0, what the tests use)",
    )
    args = parser.parse_args()

    if get_settings().database_url:  # a configured server: its own settings, measured once
        with Harness("kafka", "postgres") as h:
            run(h.settings, args)
        return
    for mode in args.durability:
        if mode not in ("durable", "fast"):
            raise SystemExit(f"--durability: unknown mode {mode!r} (durable, fast)")
        os.environ["PITWALL_PG_DURABLE"] = "1" if mode == "durable" else "0"
        get_settings.cache_clear()
        print(f"\n== embedded PostgreSQL, {mode} (PITWALL_PG_DURABLE="
              f"{os.environ['PITWALL_PG_DURABLE']}) ==")  # fmt: skip
        with Harness("kafka", "postgres") as h:
            run(h.settings, args)


def run(settings, args) -> None:
    import psycopg
    from rich.progress import track

    from consumers.pg_sink import PgWriter
    from core.gc import raise_gc_thresholds
    from producers.admin import create_topics
    from producers.kafka import EventProducer
    from replay.timeline import build_timeline
    from schemas.topics import TIMING

    timing = []
    for name in args.events.split(","):
        tl = build_timeline(2023, name.strip(), settings=settings)
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
    made = {r.name: r for r in create_topics(settings.kafka_bootstrap, args.partitions)}
    print(f"{TIMING.name}: {made[TIMING.name].partitions} partitions ({made[TIMING.name].status})")
    producer = EventProducer(settings.kafka_bootstrap)
    for e in track(events("k"), total=n_events, description="publishing to f1.timing.v1"):
        producer.publish(e)
    producer.flush()
    producer.close()

    for processes in args.processes:
        end_to_end(settings, args, n_events, f"{run_id}-sink{processes}", processes)
        # The next run re-reads the same events from the start: make them new rows again.
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            conn.execute("DELETE FROM timing WHERE session_key LIKE %s", (f"{run_id}-k%",))
            conn.execute("VACUUM timing")
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM timing WHERE session_key LIKE %s", (f"{run_id}-%",))


def end_to_end(settings, args, want: int, group: str, processes: int) -> None:
    """``processes`` members of one consumer group run ``run_pg_sink`` (what ``pitwall sink
    --pg-processes N`` runs) from the start of f1.timing.v1 until every event is written."""
    from consumers.pg_sink import run_pg_sink
    from schemas.topics import TIMING

    ctx = mp.get_context("fork")  # as consumers.runner starts the sink's processes
    stop = ctx.Event()
    consumed = [ctx.Value("q", 0) for _ in range(processes)]
    inserted = [ctx.Value("q", 0) for _ in range(processes)]
    ready = [ctx.Value("d", 0.0) for _ in range(processes)]

    def child(i: int) -> None:
        def on_batch(s) -> None:
            consumed[i].value = sum(s.rows.values())
            inserted[i].value = sum(s.inserted.values())

        def on_ready() -> None:
            ready[i].value = time.perf_counter()

        run_pg_sink(
            settings,
            stop.is_set,
            topics=[TIMING.name],
            group=group,
            batch=args.batch,
            on_batch=on_batch,
            on_ready=on_ready,
        )

    t0 = time.perf_counter()
    procs = [ctx.Process(target=child, args=(i,), name=f"pg-sink[{i}]") for i in range(processes)]
    for p in procs:
        p.start()
    deadline = t0 + 600
    while sum(c.value for c in consumed) < want and time.perf_counter() < deadline:
        if any(p.exitcode not in (None, 0) for p in procs):
            raise SystemExit("a sink process failed (see above)")
        time.sleep(0.005)
    t1 = time.perf_counter()
    stop.set()
    for p in procs:
        p.join()
    total, added = sum(c.value for c in consumed), sum(c.value for c in inserted)
    start = min((r.value for r in ready if r.value), default=t0)
    split = " + ".join(f"{c.value:,}" for c in consumed) if processes > 1 else ""
    print(
        f"end to end, {processes} sink process{'es' if processes > 1 else ''} "
        f"(Kafka -> decode -> rows -> COPY + upsert -> commit): {total:,} events "
        f"({added:,} new rows{'; ' + split if split else ''}) in {t1 - start:.2f} s = "
        f"{total / (t1 - start):,.0f} rows/s from the first partition assignment "
        f"({t1 - t0:.2f} s with process start and group join)"
    )


if __name__ == "__main__":
    main()
