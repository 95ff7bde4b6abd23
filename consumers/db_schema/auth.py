"""The API's users, refresh tokens, API keys and audit log tables.

Passwords are argon2 hashes (pwdlib); API keys and refresh tokens are stored as SHA-256
digests only (they are long random strings: a digest is enough, and it can be looked up).
``tokens_valid_after``: access tokens issued before it are refused (logout, password or role
change). These are the tables as migration step 1 creates them (``migrations``): a change
to them is a new step. Every statement is idempotent.
"""

from __future__ import annotations

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
