"""Step 1: the tables of pitwall 0.1.0 besides the topic tables: the F1 history, ratings and
pre-race predictions (``history.HISTORY_DDL``) and the API's users, tokens, API keys and audit
log (``auth.AUTH_DDL``). Idempotent, so a database of that release is adopted as it is."""

from __future__ import annotations

import psycopg

from consumers.db_schema.auth import AUTH_DDL
from consumers.db_schema.history import HISTORY_DDL


def upgrade(conn: psycopg.Connection) -> None:
    for stmt in (*HISTORY_DDL, *AUTH_DDL):
        conn.execute(stmt)
