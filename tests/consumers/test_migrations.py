"""Upgrading the database a previous release left: versioned migrations, every row kept.

``release_db/release-0.1.0.sql.gz`` is the database pitwall 0.1.0 (main before versioned
migrations, d26f552) made and filled: every topic table through its sink (the first laps of
2023 Monaco and what its worker made of them), users, an API key, a refresh token, audit
entries, history, ratings and predictions (``release_db/make_dump.py`` says how it was made).
It is loaded into a database of its own on the test PostgreSQL and upgraded by today's
``migrate``: the database then has every migration step recorded, every row it had with the
values it had, and takes new rows through today's sink.
"""

from __future__ import annotations

import gzip
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import psycopg
import pytest

from consumers.db_schema import SCHEMA, migrate
from core.settings import Settings
from pitwall.embedded.postgres import _bin

pytestmark = pytest.mark.integration

DUMP = Path(__file__).parent / "release_db" / "release-0.1.0.sql.gz"


@pytest.fixture
def release_db(stack: Settings) -> Iterator[str]:
    """A database holding the release's dump; its URL."""
    admin_url = stack.require_database
    name = f"release_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    try:
        subprocess.run(
            [_bin("psql"), "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", "-"],
            input=gzip.decompress(DUMP.read_bytes()), check=True, capture_output=True,
        )  # fmt: skip
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def tables(conn: psycopg.Connection) -> list[str]:
    """Every table of the public schema (partition parents, not their partitions)."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
    ).fetchall()
    return sorted(r[0] for r in rows)


def rows_of(conn: psycopg.Connection, table: str) -> list[dict]:
    q = f'SELECT to_jsonb(t)::text FROM "{table}" t'
    return [orjson.loads(r[0]) for r in conn.execute(q).fetchall()]


def test_the_previous_release_is_upgraded_with_every_row(release_db: str) -> None:
    with psycopg.connect(release_db, autocommit=True) as conn:
        before = {t: rows_of(conn, t) for t in tables(conn)}
        assert "schema_migrations" not in before  # the release had no versions
        assert sum(map(len, before.values())) > 250
        assert all(before[t] for t in ("laps", "strategy", "users", "api_keys", "results"))

        migrate(conn)

        versions = conn.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()
        assert [v[0] for v in versions] == list(range(1, len(versions) + 1))
        assert len(versions) >= 2
        assert "login_failures" in tables(conn)  # the release's database gained the step
        for table, old_rows in before.items():
            new_rows = rows_of(conn, table)
            assert len(new_rows) == len(old_rows), table
            kept = {orjson.dumps({k: r[k] for k in old_rows[0]}, option=orjson.OPT_SORT_KEYS)
                    for r in new_rows} if old_rows else set()  # fmt: skip
            for row in old_rows:
                assert orjson.dumps(row, option=orjson.OPT_SORT_KEYS) in kept, (table, row)

        migrate(conn)  # again: nothing more to do
        again = conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0]
        assert again == len(versions)


def test_the_upgraded_database_takes_todays_rows(release_db: str) -> None:
    from consumers.pg_sink import PgWriter
    from schemas import decode

    with psycopg.connect(release_db, autocommit=True) as conn:
        writer = PgWriter(conn)  # migrates
        old = rows_of(conn, "laps")[0]
        have = {
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'laps'"
            )
        }
        assert {c for c, _ in SCHEMA["f1.laps.v1"].fields} <= have  # today's model fits
        lap = decode("f1.laps.v1", orjson.dumps(_event_of(old)))
        assert writer.write({"f1.laps.v1": [lap]}) == {"laps": 0}  # already there
        lap.lap_number += 100
        assert writer.write({"f1.laps.v1": [lap]}) == {"laps": 1}


def _event_of(row: dict) -> dict:
    """The lap event a ``laps`` row was made from (enough of it to decode)."""
    envelope = {"session_key", "session_time", "time", "produced_at"}
    event = {k: v for k, v in row.items() if k not in envelope and v is not None}
    event["type"] = "lap"
    event["session_key"] = row["session_key"]
    event["event_time"] = {"session_time": row["session_time"], "utc": row["time"]}
    return event
