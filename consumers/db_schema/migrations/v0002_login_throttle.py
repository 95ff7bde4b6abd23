"""Step 2: failed sign-ins, counted per user name and per client address, so that every API
process throttles them alike whether or not Redis is up (``api.auth.throttle``)."""

from __future__ import annotations

import psycopg

LOGIN_FAILURES = """CREATE TABLE IF NOT EXISTS login_failures (
    scope text NOT NULL CHECK (scope IN ('user', 'address')), subject text NOT NULL,
    failures integer NOT NULL DEFAULT 0, last_failure_at timestamptz NOT NULL DEFAULT now(),
    blocked_until timestamptz, PRIMARY KEY (scope, subject))"""


def upgrade(conn: psycopg.Connection) -> None:
    conn.execute(LOGIN_FAILURES)
