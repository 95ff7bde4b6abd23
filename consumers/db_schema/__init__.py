"""The database schema, in one place: every table pitwall keeps, and :func:`migrate`.

Callers import from here; the tables live by family:

- ``topic_tables``: one table per topic, derived from the topic's model, and the rows of
  events in them (``SCHEMA``, ``Table``, ``row_values``); ``topic_ddl`` creates them as
  hypertables or yearly partitions and brings older ones up to date;
- ``history``: the F1 history, ratings and pre-race prediction tables (``HISTORY_DDL``);
- ``auth``: the API's users, tokens, API keys and audit log (``AUTH_DDL``).

``migrate(conn)`` brings any database up to date: the numbered steps of ``migrations`` it has
not had (recorded in ``schema_migrations``), then the topic tables (created, or evolved to
their models). It is serialised by an advisory lock and runs in one transaction, so the sink
and the API may both call it at start-up and a failed upgrade leaves the database as it was.
"""

from __future__ import annotations

import psycopg

from consumers.db_schema import migrations
from consumers.db_schema.auth import AUTH_DDL
from consumers.db_schema.history import HISTORY_DDL
from consumers.db_schema.topic_ddl import create_topic_tables, is_hypertable
from consumers.db_schema.topic_tables import BY_TABLE, SCHEMA, Table, row_values, table_for

__all__ = [
    "AUTH_DDL",
    "BY_TABLE",
    "HISTORY_DDL",
    "SCHEMA",
    "Table",
    "is_hypertable",
    "migrate",
    "migrations",
    "row_values",
    "table_for",
]

_LOCK_ID = 424242


def migrate(conn: psycopg.Connection) -> bool:
    """Upgrade the database to :data:`migrations.HEAD` and its topic tables to their models
    (idempotent); True when the topic tables are hypertables."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
        migrations.upgrade(conn)
        timescale = create_topic_tables(conn)
    return timescale
