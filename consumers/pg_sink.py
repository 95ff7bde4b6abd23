"""The PostgreSQL sink: every topic into its table, in batches, idempotently.

Each poll's events are grouped by table, copied (COPY, binary) into a temporary staging
table and inserted with ``ON CONFLICT DO NOTHING`` on the natural key, so a replayed or
duplicated event never adds a row. Kafka offsets are committed only after the database
transaction has committed: a crash replays events, never loses them.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import psycopg
from confluent_kafka import Consumer, Message

from consumers.db_schema import SCHEMA, Table, migrate, row_values
from pitwall.kafka_config import consumer_config
from producers.kafka import EventProducer
from schemas import DecodeError, decode
from schemas.topics import ALL_TOPICS

log = logging.getLogger(__name__)
GROUP = "pitwall-sink-pg"


@dataclass
class SinkStats:
    rows: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    inserted: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    dead_letters: int = 0


class PgWriter:
    """Writes decoded events to their tables (the pure write path, also used by benchmarks)."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.timescale = migrate(conn)
        self._staged: set[str] = set()

    def _stage(self, table: Table) -> str:
        stage = f"stage_{table.name}"
        if stage not in self._staged:
            self.conn.execute(
                f'CREATE TEMP TABLE IF NOT EXISTS "{stage}" '
                f'(LIKE "{table.name}" INCLUDING DEFAULTS) ON COMMIT DELETE ROWS'
            )
            self._staged.add(stage)
        return stage

    def write(self, batches: dict[str, list[tuple]]) -> dict[str, int]:
        """Insert rows per topic in one transaction; returns rows inserted (new) per table."""
        inserted: dict[str, int] = {}
        with self.conn.transaction():
            for topic, rows in batches.items():
                if not rows:
                    continue
                table = SCHEMA[topic]
                stage = self._stage(table)
                cols = ", ".join(f'"{c}"' for c in table.columns)
                with self.conn.cursor() as cur:
                    with cur.copy(f'COPY "{stage}" ({cols}) FROM STDIN') as copy:
                        for row in rows:
                            copy.write_row(row)
                    cur.execute(
                        f'INSERT INTO "{table.name}" ({cols}) SELECT {cols} FROM "{stage}" '
                        "ON CONFLICT DO NOTHING"
                    )
                    inserted[table.name] = cur.rowcount
        return inserted

    def count(self, table: str, session_key: str | None = None) -> int:
        if session_key is None:
            return self.conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        q = f'SELECT count(*) FROM "{table}" WHERE session_key = %s'
        return self.conn.execute(q, (session_key,)).fetchone()[0]


def rows_of(messages: Iterable[Message], producer: EventProducer | None, stats: SinkStats):
    batches: dict[str, list[tuple]] = defaultdict(list)
    for msg in messages:
        topic = msg.topic()
        try:
            event = decode(topic, msg.value())
        except DecodeError as exc:
            stats.dead_letters += 1
            if producer is not None and topic != "f1.dlq.v1":
                producer.dead_letter(
                    topic,
                    exc.reason,
                    msg.value() or b"",
                    error_type="DecodeError",
                    message_key=(msg.key() or b"").decode("utf-8", "replace"),
                    partition=msg.partition(),
                    offset=msg.offset(),
                )
            continue
        batches[topic].append(row_values(SCHEMA[topic], event))
    return batches


def run_pg_sink(
    bootstrap: str,
    database_url: str,
    stop: callable,
    topics: list[str] | None = None,
    group: str = GROUP,
    batch: int = 20_000,
    on_batch: callable | None = None,
) -> SinkStats:
    """Consume until ``stop()`` is true; returns what was written."""
    stats = SinkStats()
    topics = topics or [t.name for t in ALL_TOPICS]
    conn = psycopg.connect(database_url, autocommit=True)
    writer = PgWriter(conn)
    producer = EventProducer(bootstrap)
    consumer = Consumer(
        consumer_config(group, from_beginning=True, **{"enable.auto.commit": False})
    )
    consumer.subscribe(topics)
    try:
        while not stop():
            msgs = [m for m in consumer.consume(batch, 0.05) if not m.error()]
            if not msgs:
                continue
            batches = rows_of(msgs, producer, stats)
            for attempt in range(5):
                try:
                    inserted = writer.write(batches)
                    break
                except psycopg.OperationalError as exc:
                    log.warning("database write failed (%s); retrying", exc)
                    time.sleep(0.5 * (attempt + 1))
                    conn = psycopg.connect(database_url, autocommit=True)
                    writer = PgWriter(conn)
            else:
                raise RuntimeError("PostgreSQL is unreachable; offsets not committed")
            producer.flush()
            consumer.commit(asynchronous=False)
            for topic, rows in batches.items():
                stats.rows[topic] += len(rows)
            for table, n in inserted.items():
                stats.inserted[table] += n
            if on_batch:
                on_batch(stats)
    finally:
        consumer.close()
        producer.close()
        conn.close()
    return stats
