"""The API's users, refresh tokens, API keys and audit log tables.

Passwords are argon2 hashes (pwdlib); API keys and refresh tokens are stored as SHA-256
digests only (they are long random strings: a digest is enough, and it can be looked up).
``tokens_valid_after``: access tokens issued before it are refused (logout, password or role
change). Every statement is idempotent; ``AUTH_LOCK_ID`` serialises the API processes that
create them at start-up.
"""

from __future__ import annotations

import psycopg

#: The advisory lock that serialises the API processes creating these tables at start-up.
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
