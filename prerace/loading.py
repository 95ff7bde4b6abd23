"""Whether the F1 history is being loaded: an ingest (and the update it runs) holds a
PostgreSQL advisory lock while it writes, so a second ingest waits for it and the API can
tell a user that the pages fill in once it is done (``make demo`` ingests in the
background), rather than to run an ingest that is already running.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

#: The PostgreSQL advisory lock an ingest (and its update) holds while it writes: a second
#: ingest waits for it, and the API tells users the history is being loaded.
LOADING_LOCK = 7_240_038
LOADING_SQL = (
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
    "AND classid = 0 AND objid = %s AND objsubid = 1) AS loading"
)


@contextmanager
def loading(conn: psycopg.Connection) -> Iterator[None]:
    """Hold ``LOADING_LOCK`` on ``conn`` for the duration (released with the session if the
    process dies)."""
    conn.execute("SELECT pg_advisory_lock(%s)", (LOADING_LOCK,))
    try:
        yield
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (LOADING_LOCK,))
