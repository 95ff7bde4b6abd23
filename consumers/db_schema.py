"""The database schema, in one place: one table per topic, derived from the topic's model.

Columns are ``session_key``, ``session_time``, ``time`` (event UTC; the time-partitioning
column), ``produced_at``, then every field of the topic's pydantic model under its own name
(lists, dicts and nested models as ``jsonb``). Each table has a unique natural key, so a
replayed or duplicated event never adds a row. Where ``CREATE EXTENSION timescaledb``
succeeds the tables become hypertables; otherwise (embedded PostgreSQL) they are natively
range-partitioned by ``time`` (one partition per year plus a default one).

``time`` is the event's UTC time, or ``1970-01-01 + session_time`` when the source gives no
UTC: it must be deterministic (not ``produced_at``), because it is part of every unique key
and a replayed event has to land on the same key.

``migrate(conn)`` is idempotent and serialised by an advisory lock, so the sink and the API
may both call it at start-up.
"""

from __future__ import annotations

import enum
import logging
import operator
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pydantic_core
from psycopg.types.json import Jsonb
from pydantic import BaseModel

from schemas import topics
from schemas.envelope import Envelope
from schemas.topics import ALL_TOPICS, TopicSpec

log = logging.getLogger(__name__)

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
#: Yearly partitions created up front (rows outside them land in the default partition).
PARTITION_YEARS = range(2018, 2036)
_LOCK_ID = 424242

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


def ddl(table: Table, timescale: bool) -> list[str]:
    """The statements creating ``table`` (all idempotent)."""
    cols = BASE_COLUMNS + [(f, t) for f, t in table.fields if f not in dict(BASE_COLUMNS)]
    body = ",\n  ".join(f'"{c}" {t}' for c, t in cols)
    unique = (
        f'CONSTRAINT "{table.name}_natural_key" UNIQUE NULLS NOT DISTINCT ('
        + ", ".join(f'"{c}"' for c in table.unique)
        + ")"
    )
    create = f'CREATE TABLE IF NOT EXISTS "{table.name}" (\n  {body},\n  {unique})'
    if timescale:
        return [
            create,
            f"SELECT create_hypertable('{table.name}', 'time', if_not_exists => TRUE, "
            "migrate_data => TRUE)",
        ]
    # The natural key starts with session_key (driver) for every table but dlq: its unique
    # index serves the API's lookups, so no second index slows the inserts down.
    return [
        create + " PARTITION BY RANGE (time)",
        f'CREATE TABLE IF NOT EXISTS "{table.name}_default" PARTITION OF "{table.name}" DEFAULT',
    ]


def _partition(table: Table, year: int) -> str:
    return (
        f'CREATE TABLE IF NOT EXISTS "{table.name}_{year}" PARTITION OF "{table.name}" '
        f"FOR VALUES FROM ('{year}-01-01 00:00+00') TO ('{year + 1}-01-01 00:00+00')"
    )


def enable_timescale(conn: psycopg.Connection) -> bool:
    """True when the ``timescaledb`` extension exists or could be created here."""
    available = conn.execute(
        "SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'"
    ).fetchone()
    if not (available and available[0]):
        return False
    try:
        with conn.transaction():
            conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    except psycopg.Error as exc:  # e.g. not in shared_preload_libraries
        log.warning("timescaledb is installed but cannot be enabled (%s); partitioning", exc)
        return False
    return True


def is_hypertable(conn: psycopg.Connection, table: str = "laps") -> bool:
    """Whether ``table`` is a TimescaleDB hypertable (False on plain PostgreSQL)."""
    row = conn.execute(
        "SELECT to_regclass('timescaledb_information.hypertables') IS NOT NULL"
    ).fetchone()
    if not (row and row[0]):
        return False
    q = "SELECT count(*) FROM timescaledb_information.hypertables WHERE hypertable_name = %s"
    return bool(conn.execute(q, (table,)).fetchone()[0])


def migrate(conn: psycopg.Connection) -> bool:
    """Create what is missing (idempotent); True when the tables are hypertables."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
        timescale = enable_timescale(conn)
        for table in SCHEMA.values():
            for stmt in ddl(table, timescale):
                conn.execute(stmt)
            evolve(conn, table)
            if timescale:
                continue
            for year in PARTITION_YEARS:
                try:
                    with conn.transaction():
                        conn.execute(_partition(table, year))
                except psycopg.errors.CheckViolation:
                    # The default partition already holds rows of that year: leave them there.
                    log.warning("no %s partition for %s: rows are in the default", year, table)
        migrate_history(conn)
        migrate_auth(conn)
    return timescale


# -- F1 history, ratings and pre-race predictions (``pitwall ingest ergast``, issue 26) ------
#: Ergast-format tables under the database's names, the weather of each weekend's sessions,
#: Elo ratings after each race, the winner model's predictions and their accuracy. Keys are
#: Ergast's ids; the natural keys (refs, season+round, ...) are unique as well so that a row
#: from another source (the Jolpica API) finds its id. Every statement is idempotent.
HISTORY_DDL: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS seasons (season integer PRIMARY KEY, url text)""",
    """CREATE TABLE IF NOT EXISTS circuits (
        circuit_id integer PRIMARY KEY, circuit_ref text NOT NULL UNIQUE, name text,
        location text, country text, lat double precision, lng double precision,
        alt double precision, url text)""",
    """CREATE TABLE IF NOT EXISTS status (
        status_id integer PRIMARY KEY, status text NOT NULL UNIQUE)""",
    """CREATE TABLE IF NOT EXISTS drivers (
        driver_id integer PRIMARY KEY, driver_ref text NOT NULL UNIQUE, number integer,
        code text, forename text, surname text, dob date, nationality text, url text)""",
    """CREATE TABLE IF NOT EXISTS constructors (
        constructor_id integer PRIMARY KEY, constructor_ref text NOT NULL UNIQUE, name text,
        nationality text, url text)""",
    """CREATE TABLE IF NOT EXISTS races (
        race_id integer PRIMARY KEY, season integer NOT NULL, round integer NOT NULL,
        circuit_id integer REFERENCES circuits, name text NOT NULL, date date, time text,
        url text, fp1_date date, fp1_time text, fp2_date date, fp2_time text, fp3_date date,
        fp3_time text, quali_date date, quali_time text, sprint_date date, sprint_time text,
        UNIQUE (season, round))""",
    """CREATE TABLE IF NOT EXISTS results (
        result_id integer PRIMARY KEY, race_id integer NOT NULL REFERENCES races,
        driver_id integer NOT NULL REFERENCES drivers,
        constructor_id integer NOT NULL REFERENCES constructors, number integer,
        grid integer, position integer, position_text text, position_order integer,
        points double precision, laps integer, time text, milliseconds bigint,
        fastest_lap integer, rank integer, fastest_lap_time text,
        fastest_lap_speed double precision, status_id integer REFERENCES status,
        UNIQUE NULLS NOT DISTINCT (race_id, driver_id, constructor_id, number))""",
    """CREATE TABLE IF NOT EXISTS sprint_results (
        result_id integer PRIMARY KEY, race_id integer NOT NULL REFERENCES races,
        driver_id integer NOT NULL REFERENCES drivers,
        constructor_id integer NOT NULL REFERENCES constructors, number integer,
        grid integer, position integer, position_text text, position_order integer,
        points double precision, laps integer, time text, milliseconds bigint,
        fastest_lap integer, rank integer, fastest_lap_time text,
        status_id integer REFERENCES status, UNIQUE (race_id, driver_id))""",
    """CREATE TABLE IF NOT EXISTS qualifying (
        qualify_id integer PRIMARY KEY, race_id integer NOT NULL REFERENCES races,
        driver_id integer NOT NULL REFERENCES drivers,
        constructor_id integer NOT NULL REFERENCES constructors, number integer,
        position integer, q1 text, q2 text, q3 text, UNIQUE (race_id, driver_id))""",
    """CREATE TABLE IF NOT EXISTS pit_stops (
        race_id integer NOT NULL REFERENCES races, driver_id integer NOT NULL REFERENCES drivers,
        stop integer NOT NULL, lap integer, time text, duration text, milliseconds bigint,
        PRIMARY KEY (race_id, driver_id, stop))""",
    """CREATE TABLE IF NOT EXISTS driver_standings (
        race_id integer NOT NULL REFERENCES races, driver_id integer NOT NULL REFERENCES drivers,
        points double precision, position integer, position_text text, wins integer,
        source text NOT NULL DEFAULT 'ergast', PRIMARY KEY (race_id, driver_id))""",
    """CREATE TABLE IF NOT EXISTS constructor_standings (
        race_id integer NOT NULL REFERENCES races,
        constructor_id integer NOT NULL REFERENCES constructors, points double precision,
        position integer, position_text text, wins integer,
        source text NOT NULL DEFAULT 'ergast', PRIMARY KEY (race_id, constructor_id))""",
    """CREATE TABLE IF NOT EXISTS constructor_results (
        race_id integer NOT NULL REFERENCES races,
        constructor_id integer NOT NULL REFERENCES constructors, points double precision,
        status text, PRIMARY KEY (race_id, constructor_id))""",
    """CREATE TABLE IF NOT EXISTS race_weather (
        race_id integer NOT NULL REFERENCES races, session text NOT NULL,
        air_temp double precision, track_temp double precision, humidity double precision,
        pressure double precision, wind_speed double precision, rainfall double precision,
        samples integer, PRIMARY KEY (race_id, session))""",
    """CREATE TABLE IF NOT EXISTS ratings (
        race_id integer NOT NULL REFERENCES races, kind text NOT NULL,
        entity_id integer NOT NULL, rating double precision NOT NULL,
        PRIMARY KEY (race_id, kind, entity_id))""",
    """CREATE TABLE IF NOT EXISTS winner_models (
        model_version text PRIMARY KEY, moment text NOT NULL, trained_races integer,
        last_race_id integer, config jsonb, created_at timestamptz NOT NULL DEFAULT now())""",
    """CREATE TABLE IF NOT EXISTS predictions (
        race_id integer NOT NULL REFERENCES races, moment text NOT NULL,
        driver_id integer NOT NULL REFERENCES drivers, constructor_id integer,
        grid integer, p_win double precision NOT NULL, p_podium double precision NOT NULL,
        model_version text NOT NULL, kind text NOT NULL DEFAULT 'live',
        generated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (race_id, moment, driver_id))""",
    """CREATE TABLE IF NOT EXISTS prediction_accuracy (
        race_id integer NOT NULL REFERENCES races, moment text NOT NULL,
        model_version text NOT NULL, kind text NOT NULL, predicted_winner integer,
        actual_winner integer, win_brier double precision, win_log_loss double precision,
        top1 double precision, podium_brier double precision, top3 double precision,
        baseline text NOT NULL, baseline_win_brier double precision,
        baseline_win_log_loss double precision, baseline_top1 double precision,
        baseline_podium_brier double precision, baseline_top3 double precision,
        recorded_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (race_id, moment))""",
    "CREATE INDEX IF NOT EXISTS results_driver ON results (driver_id)",
    "CREATE INDEX IF NOT EXISTS ratings_entity ON ratings (kind, entity_id)",
)


def migrate_history(conn: psycopg.Connection) -> None:
    """Create the history, ratings and prediction tables (idempotent)."""
    for stmt in HISTORY_DDL:
        conn.execute(stmt)


# -- users, tokens, API keys and the audit log (the API's auth, issue 27) -------------------
#: Passwords are argon2 hashes (pwdlib); API keys and refresh tokens are stored as SHA-256
#: digests only (they are long random strings: a digest is enough, and it can be looked up).
#: ``tokens_valid_after``: access tokens issued before it are refused (logout, password or
#: role change). Every statement is idempotent; ``AUTH_LOCK_ID`` serialises the API
#: processes that create them at start-up.
AUTH_LOCK_ID = 424243
AUTH_DDL: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS users (
        user_id bigserial PRIMARY KEY, username text NOT NULL UNIQUE,
        password_hash text NOT NULL, role text NOT NULL DEFAULT 'user'
            CHECK (role IN ('user', 'admin')),
        disabled boolean NOT NULL DEFAULT false,
        tokens_valid_after timestamptz,
        created_at timestamptz NOT NULL DEFAULT now())""",
    """CREATE TABLE IF NOT EXISTS refresh_tokens (
        jti text PRIMARY KEY, user_id bigint NOT NULL REFERENCES users ON DELETE CASCADE,
        issued_at timestamptz NOT NULL DEFAULT now(), expires_at timestamptz NOT NULL,
        used_at timestamptz, revoked_at timestamptz)""",
    "CREATE INDEX IF NOT EXISTS refresh_tokens_user ON refresh_tokens (user_id)",
    """CREATE TABLE IF NOT EXISTS api_keys (
        key_id bigserial PRIMARY KEY, prefix text NOT NULL, key_hash text NOT NULL UNIQUE,
        name text NOT NULL, role text NOT NULL CHECK (role IN ('user', 'admin')),
        created_by text, created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz, revoked_at timestamptz)""",
    """CREATE TABLE IF NOT EXISTS audit_log (
        audit_id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(),
        event text NOT NULL, outcome text NOT NULL, actor text, subject text, ip text,
        request_id text, detail jsonb)""",
    "CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at DESC)",
)


def migrate_auth(conn: psycopg.Connection) -> None:
    """Create the users, token, API key and audit tables (idempotent)."""
    for stmt in AUTH_DDL:
        conn.execute(stmt)


def evolve(conn: psycopg.Connection, table: Table) -> None:
    """Bring a table made by an older pitwall up to its topic's model: columns of fields added
    since (schemas change compatibly: new fields are optional, so old rows hold NULL) and the
    natural key, when a field joined it (the key is recreated; rows already there keep)."""
    have = {
        r[0]
        for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s",
            (table.name,),
        )
    }
    for name, kind in table.fields:
        if name not in have:
            conn.execute(f'ALTER TABLE "{table.name}" ADD COLUMN IF NOT EXISTS "{name}" {kind}')
    constraint = f"{table.name}_natural_key"
    row = conn.execute(
        "SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c "
        "JOIN pg_class t ON t.oid = c.conrelid WHERE t.relname = %s AND c.conname = %s",
        (table.name, constraint),
    ).fetchone()
    want = "(" + ", ".join(table.unique) + ")"
    if row is not None and want not in row[0].replace('"', ""):
        log.warning("%s: natural key becomes %s", table.name, want)
        conn.execute(f'ALTER TABLE "{table.name}" DROP CONSTRAINT "{constraint}"')
        cols = ", ".join(f'"{c}"' for c in table.unique)
        conn.execute(
            f'ALTER TABLE "{table.name}" ADD CONSTRAINT "{constraint}" '
            f"UNIQUE NULLS NOT DISTINCT ({cols})"
        )


def row_values(table: Table, event: BaseModel) -> tuple[Any, ...]:
    """The row of ``event`` in ``table``'s column order (``Jsonb`` for nested values)."""
    return _BUILDERS[table.topic](event)  # type: ignore[arg-type]
