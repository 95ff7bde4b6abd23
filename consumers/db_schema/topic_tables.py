"""The topic tables: one per topic, its columns derived from the topic's model, and its rows.

Columns are ``session_key``, ``session_time``, ``time`` (event UTC; the time-partitioning
column), ``produced_at``, then every field of the topic's pydantic model under its own name
(lists, dicts and nested models as ``jsonb``). Each table has a unique natural key, so a
replayed or duplicated event never adds a row.

``time`` is the event's UTC time, or ``1970-01-01 + session_time`` when the source gives no
UTC: it must be deterministic (not ``produced_at``), because it is part of every unique key
and a replayed event has to land on the same key.
"""

from __future__ import annotations

import enum
import operator
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pydantic_core
from psycopg.types.json import Jsonb
from pydantic import BaseModel

from schemas import topics
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
#: PostgreSQL type names of the base columns, as binary COPY wants them.
BASE_COPY_TYPES = ["text", "float8", "timestamptz", "timestamptz"]
_COPY_TYPE = {
    "boolean": "bool",
    "bigint": "int8",
    "double precision": "float8",
    "text": "text",
    "timestamptz": "timestamptz",
    "jsonb": "jsonb",
}
#: topic name -> (table, natural key). ``time`` is appended to every key (see ``Table.unique``).
#: The timing key also holds the values: the feed can send two different updates for one
#: driver at the same session time (27 of them in 2023 Monaco), both worth keeping.
#: The DLQ key holds ``produced_at`` because inputs that did not come from Kafka (the live
#: feed) have no partition/offset.
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    topics.SESSION.name: ("session_events", ("session_key", "session_time", "kind", "driver")),
    topics.LAPS.name: ("laps", ("session_key", "driver", "lap_number")),
    topics.TIMING.name: (
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
    topics.STINTS.name: ("stints", ("session_key", "driver", "stint")),
    topics.TRACK_STATUS.name: ("track_status", ("session_key", "session_time", "status")),
    topics.RACE_CONTROL.name: ("race_control", ("session_key", "session_time", "message")),
    topics.WEATHER.name: ("weather", ("session_key", "session_time")),
    topics.TELEMETRY.name: ("telemetry", ("session_key", "driver", "session_time")),
    topics.FEATURES.name: ("features", ("session_key", "driver", "lap_number")),
    topics.DEGRADATION.name: ("degradation", ("session_key", "driver", "lap_number")),
    topics.STRATEGY.name: (
        "strategy",
        ("session_key", "lap", "trigger", "trigger_driver", "session_time"),
    ),
    topics.BATTLES.name: ("battles", ("session_key", "lap", "session_time")),
    topics.DLQ.name: ("dlq", ("source", "partition", "offset", "produced_at")),
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


def _json_text(value: Any) -> str:
    return pydantic_core.to_json(value).decode()


def _to_jsonb(value: Any) -> Any:
    return None if value is None else Jsonb(value, dumps=_json_text)


def _to_text(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


@dataclass(frozen=True)
class Table:
    """One topic's table: its name, natural key and model fields with their column types."""

    topic: str
    name: str
    key: tuple[str, ...]
    fields: tuple[tuple[str, str], ...]  # model fields: (name, pg type)

    @property
    def columns(self) -> list[str]:
        return [c for c, _ in BASE_COLUMNS] + [f for f, _ in self.fields]

    @property
    def copy_types(self) -> list[str]:
        """Column types in ``columns`` order, for ``Copy.set_types`` (binary COPY)."""
        return BASE_COPY_TYPES + [_COPY_TYPE[t] for _, t in self.fields]

    @property
    def unique(self) -> tuple[str, ...]:
        """The natural key plus ``time`` (partitioned tables need the partition column)."""
        return tuple(dict.fromkeys((*self.key, "time")))

    def row_builder(self) -> Callable[[Envelope], tuple[Any, ...]]:
        """A fast ``event -> row`` function (attribute access, no model_dump)."""
        names = [f for f, _ in self.fields]
        get = operator.attrgetter(*names) if len(names) > 1 else None
        converters: list[Callable[[Any], Any] | None] = []
        for _, t in self.fields:
            converters.append(_to_jsonb if t == "jsonb" else _to_text if t == "text" else None)
        needs_conversion = any(
            c is _to_jsonb or (c is _to_text and _has_enum(self.topic, f))
            for c, f in zip(converters, names, strict=True)
        )
        seconds = timedelta(seconds=1)

        def base(event: Envelope) -> tuple[Any, ...]:
            et = event.event_time
            when = et.utc or EPOCH + et.session_time * seconds
            return (event.session_key, et.session_time, when, event.produced_at)

        if get is not None and not needs_conversion:

            def build(event: Envelope) -> tuple[Any, ...]:
                return base(event) + get(event)

            return build
        fetch = [operator.attrgetter(n) for n in names]
        pairs = list(zip(fetch, converters, strict=True))

        def build_converted(event: Envelope) -> tuple[Any, ...]:
            return base(event) + tuple(conv(f(event)) if conv else f(event) for f, conv in pairs)

        return build_converted


def _has_enum(topic: str, field: str) -> bool:
    from schemas.topics import BY_NAME

    annotation = BY_NAME[topic].model.model_fields[field].annotation
    found = [annotation, *typing.get_args(annotation)]
    return any(isinstance(a, type) and issubclass(a, enum.Enum) for a in found)


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
_BUILDERS = {topic: table.row_builder() for topic, table in SCHEMA.items()}


def table_for(topic: str) -> Table:
    """The table of a topic name (``f1.laps.v1`` -> ``laps``)."""
    return SCHEMA[topic]


def row_values(table: Table, event: BaseModel) -> tuple[Any, ...]:
    """The row of ``event`` in ``table``'s column order (``Jsonb`` for nested values)."""
    return _BUILDERS[table.topic](event)  # type: ignore[arg-type]
