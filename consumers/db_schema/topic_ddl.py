"""Creating the topic tables and bringing older ones up to date.

Where ``CREATE EXTENSION timescaledb`` succeeds the tables become hypertables; otherwise
(embedded PostgreSQL) they are natively range-partitioned by ``time`` (one partition per year
plus a default one). A table made by an older pitwall gains the columns of fields added since
and its natural key as it is now (:func:`evolve`). Every statement is idempotent.
"""

from __future__ import annotations

import logging

import psycopg

from consumers.db_schema.topic_tables import BASE_COLUMNS, SCHEMA, Table

log = logging.getLogger(__name__)

#: Yearly partitions created up front (rows outside them land in the default partition).
PARTITION_YEARS = range(2018, 2036)


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


def create_topic_tables(conn: psycopg.Connection) -> bool:
    """Create or evolve every topic table (inside the caller's transaction and lock); True
    when they are hypertables."""
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
    return timescale


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
