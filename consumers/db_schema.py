"""The database schema, in one place: one table per topic, derived from the topic's model.

Columns are ``session_key``, ``session_time``, ``time`` (event UTC; the time-partitioning
column), ``produced_at``, then every field of the topic's pydantic model under its own name
(lists, dicts and nested models as ``jsonb``). Each table has a natural key, so a replayed or
duplicated event never adds a row. With the ``timescaledb`` extension the tables become
hypertables; without it (embedded PostgreSQL) they are range-partitioned by ``time``.
"""

from __future__ import annotations

import enum
import types
import typing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from pydantic import BaseModel

from schemas.envelope import Envelope
from schemas.topics import ALL_TOPICS, TopicSpec

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ENVELOPE_FIELDS = {"type", "schema_version", "session_key", "event_time", "produced_at"}
BASE_COLUMNS = [
    ("session_key", "text NOT NULL"),
    ("session_time", "double precision"),
    ("time", "timestamptz NOT NULL"),
    ("produced_at", "timestamptz"),
]

#: topic name -> (table, natural key)
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "f1.session.v1": ("session_events", ("session_key", "session_time", "kind")),
    "f1.laps.v1": ("laps", ("session_key", "driver", "lap_number")),
    "f1.timing.v1": (
        "timing",
        (
            "session_key",
            "driver",
            "session_time",
            "position",
            "gap_to_leader_text",
            "interval_text",
        ),
    ),
    "f1.stints.v1": ("stints", ("session_key", "driver", "stint")),
    "f1.track_status.v1": ("track_status", ("session_key", "session_time", "status")),
    "f1.race_control.v1": ("race_control", ("session_key", "session_time", "message")),
    "f1.weather.v1": ("weather", ("session_key", "session_time")),
    "f1.telemetry.v1": ("telemetry", ("session_key", "driver", "session_time")),
    "f1.features.v1": ("features", ("session_key", "driver", "lap_number")),
    "f1.degradation.v1": ("degradation", ("session_key", "driver", "lap_number")),
    "f1.strategy.v1": (
        "strategy",
        ("session_key", "lap", "trigger", "trigger_driver", "session_time"),
    ),
    "f1.dlq.v1": ("dlq", ("source", "partition", "offset", "produced_at")),
}


def _pg_type(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _pg_type(args[0]) if len(args) == 1 else "jsonb"
    if origin is typing.Literal:
        return "text"
    if annotation is bool:
        return "boolean"
    if annotation is int:
        return "bigint"
    if annotation is float:
        return "double precision"
    if annotation is str or (isinstance(annotation, type) and issubclass(annotation, enum.Enum)):
        return "text"
    if annotation is datetime:
        return "timestamptz"
    return "jsonb"


@dataclass(frozen=True)
class Table:
    topic: str
    name: str
    key: tuple[str, ...]
    fields: tuple[tuple[str, str], ...]  # model fields: (name, pg type)

    @property
    def columns(self) -> list[str]:
        return [c for c, _ in BASE_COLUMNS] + [f for f, _ in self.fields]

    @property
    def unique(self) -> tuple[str, ...]:
        """The natural key plus ``time`` (partitioned tables need the partition column)."""
        return tuple(dict.fromkeys((*self.key, "time")))


def _table(spec: TopicSpec) -> Table:
    name, key = TABLES[spec.name]
    model: type[Envelope] = spec.model
    fields = tuple(
        (f, _pg_type(info.annotation))
        for f, info in model.model_fields.items()
        if f not in ENVELOPE_FIELDS
    )
    return Table(spec.name, name, key, fields)


SCHEMA: dict[str, Table] = {spec.name: _table(spec) for spec in ALL_TOPICS}
BY_TABLE: dict[str, Table] = {t.name: t for t in SCHEMA.values()}


def table_for(topic: str) -> Table:
    return SCHEMA[topic]


def ddl(table: Table, timescale: bool) -> list[str]:
    cols = BASE_COLUMNS + [(f, t) for f, t in table.fields if f not in dict(BASE_COLUMNS)]
    body = ",\n  ".join(f'"{c}" {t}' for c, t in cols)
    unique = "UNIQUE NULLS NOT DISTINCT (" + ", ".join(f'"{c}"' for c in table.unique) + ")"
    create = f'CREATE TABLE IF NOT EXISTS "{table.name}" (\n  {body},\n  {unique})'
    if timescale:
        return [
            create,
            f"SELECT create_hypertable('{table.name}', 'time', if_not_exists => TRUE, "
            "migrate_data => TRUE)",
        ]
    stmts = [
        create + " PARTITION BY RANGE (time)",
        f'CREATE TABLE IF NOT EXISTS "{table.name}_default" PARTITION OF "{table.name}" DEFAULT',
    ]
    for year in range(2018, 2031):
        stmts.append(
            f'CREATE TABLE IF NOT EXISTS "{table.name}_{year}" PARTITION OF "{table.name}" '
            f"FOR VALUES FROM ('{year}-01-01') TO ('{year + 1}-01-01')"
        )
    idx = ", ".join(f'"{c}"' for c in table.key if c in ("session_key", "driver"))
    if idx:
        stmts.append(f'CREATE INDEX IF NOT EXISTS "{table.name}_lookup" ON "{table.name}" ({idx})')
    return stmts


def has_timescale(conn: psycopg.Connection) -> bool:
    row = conn.execute(
        "SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'"
    ).fetchone()
    return bool(row and row[0])


def migrate(conn: psycopg.Connection) -> bool:
    """Create what is missing (idempotent); True when the tables are hypertables."""
    timescale = has_timescale(conn)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(424242)")
        if timescale:
            conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        for table in SCHEMA.values():
            for stmt in ddl(table, timescale):
                conn.execute(stmt)
    return timescale


def row_values(table: Table, event: BaseModel) -> tuple[Any, ...]:
    """The row of ``event`` in ``table``'s column order (JSON for nested values)."""
    from psycopg.types.json import Jsonb

    data = event.model_dump(mode="python")
    et = data["event_time"]
    # Deterministic, so that a replayed event lands on the same row.
    when = et.get("utc") or EPOCH + timedelta(seconds=et.get("session_time") or 0.0)
    out: list[Any] = [data["session_key"], et.get("session_time"), when, data.get("produced_at")]
    for f, t in table.fields:
        v = data.get(f)
        if t == "jsonb" and v is not None:
            v = Jsonb(_plain(v))
        elif isinstance(v, enum.Enum):
            v = v.value
        out.append(v)
    return tuple(out)


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, enum.Enum):
        return v.value
    return v
