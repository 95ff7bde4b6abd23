"""Versioned migrations of the database: numbered steps, each applied once, recorded in
``schema_migrations``.

:data:`MIGRATIONS` lists the steps in order; :func:`upgrade` applies those a database has not
had yet, in the caller's transaction (so all of them or none), and records each with its
number, name and time. A database made before versions existed (pitwall up to 0.1.0 without
this table) holds what step 1 creates: step 1's statements are idempotent, so it is adopted
as it is.

To change the schema, add a module ``vNNNN_<what>.py`` with ``upgrade(conn)`` and append it
here; never edit a step that was released. The topic tables are the exception: their columns
follow their topic's model (``topic_ddl.evolve`` adds the optional fields a schema gains, as
the topics change compatibly), so a new field needs no step; anything else about them does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from consumers.db_schema.migrations import v0001_baseline, v0002_login_throttle


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    upgrade: Callable[[psycopg.Connection], None]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "baseline: history, ratings, predictions and auth tables", v0001_baseline.upgrade),
    Migration(2, "failed sign-ins per user and per address", v0002_login_throttle.upgrade),
)
#: The version a database has once :func:`upgrade` has run.
HEAD = MIGRATIONS[-1].version

VERSION_TABLE = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY, name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now())"""


def current_version(conn: psycopg.Connection) -> int:
    """The newest step applied (0: none, or a database older than versions)."""
    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
    if not (exists and exists[0]):
        return 0
    row = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def upgrade(conn: psycopg.Connection) -> list[Migration]:
    """Apply the steps the database lacks, in order, inside the caller's transaction (which
    holds the schema lock); the steps applied."""
    conn.execute(VERSION_TABLE)
    have = current_version(conn)
    done = []
    for step in MIGRATIONS:
        if step.version <= have:
            continue
        step.upgrade(conn)
        conn.execute(
            "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
            (step.version, step.name),
        )
        done.append(step)
    return done
