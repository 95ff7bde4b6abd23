"""The database schema, in one place: every table pitwall keeps, and :func:`migrate`.

Callers import from here; the tables live by family:

- ``topic_tables``: one table per topic, derived from the topic's model, and the rows of
  events in them (``SCHEMA``, ``Table``, ``row_values``); ``topic_ddl`` creates them as
  hypertables or yearly partitions and brings older ones up to date;
- ``history``: the F1 history, ratings and pre-race prediction tables (``HISTORY_DDL``);
- ``auth``: the API's users, tokens, API keys and audit log (``AUTH_DDL``).

``migrate(conn)`` is idempotent and serialised by an advisory lock, so the sink and the API
may both call it at start-up.
"""

from __future__ import annotations

import psycopg

from consumers.db_schema.auth import AUTH_DDL, AUTH_LOCK_ID, migrate_auth
from consumers.db_schema.history import HISTORY_DDL, migrate_history
from consumers.db_schema.topic_ddl import create_topic_tables, is_hypertable
from consumers.db_schema.topic_tables import BY_TABLE, SCHEMA, Table, row_values, table_for

__all__ = [
    "AUTH_DDL",
    "AUTH_LOCK_ID",
    "BY_TABLE",
    "HISTORY_DDL",
    "SCHEMA",
    "Table",
    "is_hypertable",
    "migrate",
    "migrate_auth",
    "migrate_history",
    "row_values",
    "table_for",
]

_LOCK_ID = 424242


def migrate(conn: psycopg.Connection) -> bool:
    """Create what is missing (idempotent); True when the tables are hypertables."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
        timescale = create_topic_tables(conn)
        migrate_history(conn)
        migrate_auth(conn)
    return timescale
