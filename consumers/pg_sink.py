"""The PostgreSQL sink: every topic into its table, in batches, idempotently.

Each poll's messages are decoded (``schemas.fastcodec.decode_fast``: the topic's model, several
times faster through msgspec where the model allows; a bad one goes to ``f1.dlq.v1``), grouped
by table and written in one transaction with binary COPY:

* first straight into the table inside a savepoint (the fast path: new rows only);
* if that meets a row already there (a replay, a duplicate, a restart after a crash), the
  savepoint is rolled back and the batch is copied into a temporary staging table, then
  ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` on the natural key adds only the new rows.

Kafka offsets are committed only after the transaction has committed: a crash replays events,
never loses them, and the replay adds no row.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import psycopg
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Message, TopicPartition

from consumers.db_schema import SCHEMA, Table, migrate, row_values
from pitwall.gc_tuning import raise_gc_thresholds
from pitwall.kafka_config import consumer_config, poll_batch
from pitwall.settings import get_settings
from producers.kafka import EventProducer
from schemas import DecodeError
from schemas.envelope import Envelope
from schemas.fastcodec import decode_fast
from schemas.topics import ALL_TOPICS, DLQ

log = logging.getLogger(__name__)
GROUP = "pitwall-sink-pg"
MAX_BATCH = 20_000
WRITE_ATTEMPTS = 5


@dataclass
class SinkStats:
    """What the sink has done so far (per topic rows consumed, per table rows added)."""

    rows: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    inserted: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    dead_letters: int = 0
    batches: int = 0

    def summary(self, label: str = "pg") -> str:
        consumed = sum(self.rows.values())
        added = sum(self.inserted.values())
        tables = ", ".join(f"{t} +{n}" for t, n in sorted(self.inserted.items()) if n)
        return (
            f"{label}: {consumed:,} events in {self.batches:,} batches, {added:,} new rows"
            f"{' (' + tables + ')' if tables else ''}, {self.dead_letters} to the DLQ"
        )


class PgWriter:
    """Writes decoded events to their tables (the pure write path, also used by benchmarks)."""

    def __init__(self, conn: psycopg.Connection) -> None:
        if not conn.autocommit:
            raise ValueError("PgWriter needs an autocommit connection (it opens transactions)")
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

    def _copy(self, cur: psycopg.Cursor, target: str, table: Table, rows: list[tuple]) -> None:
        cols = ", ".join(f'"{c}"' for c in table.columns)
        with cur.copy(f'COPY "{target}" ({cols}) FROM STDIN (FORMAT BINARY)') as copy:
            copy.set_types(table.copy_types)
            for row in rows:
                copy.write_row(row)

    def _write_table(self, table: Table, rows: list[tuple]) -> int:
        with self.conn.cursor() as cur:
            try:
                with self.conn.transaction():  # a savepoint
                    self._copy(cur, table.name, table, rows)
                return len(rows)
            except psycopg.errors.UniqueViolation:
                pass  # some rows are there already: add only the others
            stage = self._stage(table)
            self._copy(cur, stage, table, rows)
            cols = ", ".join(f'"{c}"' for c in table.columns)
            cur.execute(
                f'INSERT INTO "{table.name}" ({cols}) SELECT {cols} FROM "{stage}" '
                "ON CONFLICT DO NOTHING"
            )
            return cur.rowcount  # the staging rows go at commit (ON COMMIT DELETE ROWS)

    def write_rows(self, batches: dict[str, list[tuple]]) -> dict[str, int]:
        """Insert ready rows per topic in one transaction; returns new rows per table."""
        inserted: dict[str, int] = {}
        with self.conn.transaction():
            for topic, rows in batches.items():
                if rows:
                    table = SCHEMA[topic]
                    inserted[table.name] = self._write_table(table, rows)
        return inserted

    def write(self, batches: dict[str, list[Envelope]]) -> dict[str, int]:
        """Insert decoded events per topic in one transaction; returns new rows per table."""
        rows = {
            topic: [row_values(SCHEMA[topic], e) for e in events]
            for topic, events in batches.items()
        }
        return self.write_rows(rows)

    def count(self, table: str, session_key: str | None = None) -> int:
        if session_key is None:
            return self.conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        q = f'SELECT count(*) FROM "{table}" WHERE session_key = %s'
        return self.conn.execute(q, (session_key,)).fetchone()[0]


def decode_rows(
    messages: Iterable[Message], producer: EventProducer | None, stats: SinkStats
) -> dict[str, list[tuple[Any, ...]]]:
    """Table rows per topic; messages that do not decode, or decode to values no row can
    hold (a session time beyond any date), are dead-lettered and skipped.

    Each event becomes its row at once and is dropped: a batch of 20k live pydantic models
    made every full garbage collection rescan them all (3x the decoding time).
    """
    batches: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for msg in messages:
        topic = msg.topic()
        table = SCHEMA.get(topic)
        if table is None:
            continue
        try:
            event = decode_fast(topic, msg.value() or b"")
        except DecodeError as exc:
            _dead_letter(msg, producer, stats, exc.reason, "DecodeError")
            continue
        try:
            row = row_values(table, event)
        except (OverflowError, ValueError) as exc:
            reason = f"valid, but no {table.name} row can hold it: {exc}"
            _dead_letter(msg, producer, stats, reason, type(exc).__name__)
            continue
        batches[topic].append(row)
    return batches


def _dead_letter(
    msg: Message, producer: EventProducer | None, stats: SinkStats, reason: str, error: str
) -> None:
    topic = msg.topic()
    stats.dead_letters += 1
    log.warning("%s[%s]@%s to the DLQ: %s", topic, msg.partition(), msg.offset(), reason)
    if producer is not None and topic != DLQ.name:
        producer.dead_letter(
            topic,
            reason,
            msg.value() or b"",
            error_type=error,
            message_key=(msg.key() or b"").decode("utf-8", "replace"),
            partition=msg.partition(),
            offset=msg.offset(),
        )


def subscribe(
    consumer: Consumer,
    topics: list[str],
    from_beginning: bool,
    on_ready: Callable[[], None] | None,
) -> None:
    """Subscribe; on the first assignment call ``on_ready``, and with ``from_beginning``
    start every assigned partition at its beginning instead of the committed offset."""
    ready = False

    def on_assign(c: Consumer, partitions: list[TopicPartition]) -> None:
        nonlocal ready
        if from_beginning:
            for p in partitions:
                p.offset = OFFSET_BEGINNING
            c.assign(partitions)
        if not ready and on_ready:
            on_ready()
        ready = True

    consumer.subscribe(topics, on_assign=on_assign)


def committable(messages: Iterable[Message]) -> list[TopicPartition]:
    """The offsets to commit once ``messages`` are durable: one past the last of each partition."""
    last: dict[tuple[str, int], int] = {}
    for m in messages:
        last[(m.topic(), m.partition())] = m.offset()
    return [TopicPartition(t, p, o + 1) for (t, p), o in last.items()]


class DurableWriter:
    """A :class:`PgWriter` that reconnects and retries before it gives up on a batch."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.writer = PgWriter(psycopg.connect(database_url, autocommit=True))

    def write_rows(self, rows: dict[str, list[tuple[Any, ...]]]) -> dict[str, int]:
        attempt = 1
        while True:
            try:
                return self.writer.write_rows(rows)
            except psycopg.OperationalError as exc:
                if attempt == WRITE_ATTEMPTS:
                    raise RuntimeError(
                        f"PostgreSQL unreachable after {attempt} attempts ({exc}); "
                        "offsets not committed, the batch will be re-read on restart"
                    ) from exc
                log.warning("database write failed (%s); reconnecting", exc)
                time.sleep(0.5 * attempt)
                attempt += 1
                self.writer.conn.close()
                self.writer = PgWriter(psycopg.connect(self.database_url, autocommit=True))

    def close(self) -> None:
        self.writer.conn.close()


#: A batch being written: the write, its rows, and the offsets to commit once it is durable.
_InFlight = tuple[Future[dict[str, int]], dict[str, list[tuple[Any, ...]]], list[TopicPartition]]


def run_pg_sink(
    bootstrap: str,
    database_url: str,
    stop: Callable[[], bool],
    topics: list[str] | None = None,
    group: str = GROUP,
    batch: int = MAX_BATCH,
    from_beginning: bool = False,
    on_batch: Callable[[SinkStats], None] | None = None,
    on_ready: Callable[[], None] | None = None,
) -> SinkStats:
    """Consume ``topics`` (default: all) into PostgreSQL until ``stop()``; returns the stats.

    ``from_beginning`` re-reads every partition from its start, ignoring committed offsets
    (idempotent: only missing rows are added). ``on_ready`` is called once partitions are
    assigned.

    One batch is written (on a writer thread, where PostgreSQL does most of the work) while
    the next is fetched and decoded; a batch's offsets are committed only once its rows are
    durable, so a crash re-reads at most the batches in flight and adds no row twice.
    """
    stats = SinkStats()
    raise_gc_thresholds()
    topics = topics or [t.name for t in ALL_TOPICS]
    durable = DurableWriter(database_url)
    producer = EventProducer(bootstrap)
    consumer = Consumer(
        consumer_config(
            group,
            from_beginning=True,
            **{"fetch.wait.max.ms": get_settings().history_fetch_wait_ms},
        )
    )
    subscribe(consumer, topics, from_beginning, on_ready)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-sink-writer")
    pending: _InFlight | None = None

    def finish() -> None:
        """Wait for the batch in flight, then dead letters and offsets, then the stats."""
        nonlocal pending
        if pending is None:
            return
        written, rows, offsets = pending
        pending = None
        inserted = written.result()
        producer.flush()
        try:
            consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:  # e.g. partitions moved in a rebalance: rows stay
            log.warning("offset commit failed (%s); the batch may be re-read, adding no row", exc)
        stats.batches += 1
        for topic, topic_rows in rows.items():
            stats.rows[topic] += len(topic_rows)
        for table, n in inserted.items():
            stats.inserted[table] += n
        if on_batch:
            on_batch(stats)

    try:
        while not stop():
            msgs = poll_batch(consumer, batch, 0.05)
            rows = decode_rows(msgs, producer, stats) if msgs else None
            finish()
            if msgs:
                pending = (pool.submit(durable.write_rows, rows), rows, committable(msgs))
        finish()
    finally:
        pool.shutdown(wait=True)
        consumer.close()
        producer.close()
        durable.close()
    return stats
