"""The PostgreSQL sink: every topic into its table, in batches, idempotently.

It runs on the sinks' consume loop (:mod:`consumers.loop`), which decodes each message once
(a bad one goes to ``f1.dlq.v1``) and commits a batch's offsets once it is written. Each batch
becomes rows grouped by table, written in one transaction with binary COPY:

* first straight into the table inside a savepoint (the fast path: new rows only);
* if that meets a row already there (a replay, a duplicate, a restart after a crash), the
  savepoint is rolled back and the batch is copied into a temporary staging table, then
  ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` on the natural key adds only the new rows.

Kafka offsets are committed only after the transaction has committed: a crash replays events,
never loses them, and the replay adds no row. Each event becomes its row at once and is
dropped: a batch of 20k live models would make every full garbage collection rescan them all.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from consumers.db_schema import SCHEMA, Table, migrate, row_values
from consumers.loop import DeadLetters, Decoded, LoopStats, consume
from core.settings import Settings
from schemas.envelope import Envelope
from schemas.topics import ALL_TOPICS

log = logging.getLogger(__name__)
GROUP = "pitwall-sink-pg"
TOPICS = [t.name for t in ALL_TOPICS]  # every topic has its table
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


Rows = dict[str, list[tuple[Any, ...]]]


class PgSink:
    """The PostgreSQL sink on the consume loop: rows per topic, written by a DurableWriter."""

    group = GROUP
    dead_letters = True

    def __init__(
        self, database_url: str, topics: Sequence[str] | None = None, group: str = GROUP
    ) -> None:
        self.topics = list(topics or TOPICS)
        self.group = group
        self.durable = DurableWriter(database_url)
        self.stats = SinkStats()

    def prepare(self, batch: Iterable[Decoded], dead_letter: DeadLetters) -> Rows:
        """Table rows per topic; an event no row can hold (a session time beyond any date)
        is dead-lettered and skipped."""
        rows: Rows = defaultdict(list)
        for msg, event in batch:
            topic = msg.topic()
            table = SCHEMA.get(topic)
            if table is None:
                continue
            try:
                rows[topic].append(row_values(table, event))
            except (OverflowError, ValueError) as exc:
                reason = f"valid, but no {table.name} row can hold it: {exc}"
                dead_letter(msg, reason, type(exc).__name__)
        return rows

    def write(self, rows: Rows) -> None:
        inserted = self.durable.write_rows(rows)
        for topic, topic_rows in rows.items():
            self.stats.rows[topic] += len(topic_rows)
        for table, n in inserted.items():
            self.stats.inserted[table] += n

    def close(self) -> None:
        self.durable.close()


def run_pg_sink(
    settings: Settings,
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
    (idempotent: only missing rows are added). One batch is written (on the loop's writer
    thread, where PostgreSQL does most of the work) while the next is fetched and decoded.
    The PostgreSQL sink waits ``history_fetch_wait_ms`` per fetch and, once caught up,
    ``history_fetch_interval_ms`` between fetches: no live path waits on it.
    """
    sink = PgSink(settings.require_database, topics, group)

    def batch_done(loop: LoopStats) -> None:
        sink.stats.batches, sink.stats.dead_letters = loop.batches, loop.dead_letters
        if on_batch:
            on_batch(sink.stats)

    try:
        loop = consume(
            settings,
            sink,
            stop,
            from_beginning=from_beginning,
            fetch_wait_ms=settings.history_fetch_wait_ms,
            interval_s=settings.history_fetch_interval_ms / 1000,
            max_batch=batch,
            on_batch=batch_done,
            on_ready=on_ready,
        )
    finally:
        sink.close()
    sink.stats.batches, sink.stats.dead_letters = loop.batches, loop.dead_letters
    return sink.stats
