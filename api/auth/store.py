"""The auth rows in PostgreSQL: users, refresh tokens, API keys and the audit log.

Async functions on one connection of the API's pool (autocommit, dict rows). The tables are
``consumers.db_schema.AUTH_DDL`` and its later migration steps, created by
``consumers.db_schema.migrate`` at the API's and the sink's start-up.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from api.auth.security import digest, new_api_key

Row = dict[str, Any]
RefreshOutcome = Literal["ok", "reused", "revoked", "expired", "unknown"]
USER_COLUMNS = "user_id, username, role, disabled, tokens_valid_after, created_at"


# -- users ---------------------------------------------------------------------------------
async def create_user(
    conn: AsyncConnection, username: str, password_hash: str, role: str = "user"
) -> Row | None:
    """The new user, or None when the name is taken."""
    cur = await conn.execute(
        "INSERT INTO users (username, password_hash, role) VALUES (%s, %s, %s) "
        f"ON CONFLICT (username) DO NOTHING RETURNING {USER_COLUMNS}",
        (username, password_hash, role),
    )
    return await cur.fetchone()


async def user_by_name(conn: AsyncConnection, username: str) -> Row | None:
    cur = await conn.execute(
        f"SELECT {USER_COLUMNS}, password_hash FROM users WHERE username = %s", (username,)
    )
    return await cur.fetchone()


async def user_by_id(conn: AsyncConnection, user_id: int) -> Row | None:
    cur = await conn.execute(f"SELECT {USER_COLUMNS} FROM users WHERE user_id = %s", (user_id,))
    return await cur.fetchone()


async def set_password_hash(conn: AsyncConnection, user_id: int, password_hash: str) -> None:
    await conn.execute(
        "UPDATE users SET password_hash = %s WHERE user_id = %s", (password_hash, user_id)
    )


async def end_sessions(conn: AsyncConnection, user_id: int) -> None:
    """Refuse every access token issued so far and revoke every refresh token of the user."""
    await conn.execute("UPDATE users SET tokens_valid_after = now() WHERE user_id = %s", (user_id,))
    await conn.execute(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = %s AND revoked_at IS NULL",
        (user_id,),
    )


# -- refresh tokens ------------------------------------------------------------------------
async def store_refresh(conn: AsyncConnection, jti: str, user_id: int, expires_at: float) -> None:
    await conn.execute(
        "INSERT INTO refresh_tokens (jti, user_id, expires_at) VALUES (%s, %s, %s)",
        (digest(jti), user_id, datetime.fromtimestamp(expires_at, UTC)),
    )


async def use_refresh(conn: AsyncConnection, jti: str) -> tuple[RefreshOutcome, int | None]:
    """Mark a refresh token used, once: ("ok", user id) the first time; afterwards why not."""
    key = digest(jti)
    cur = await conn.execute(
        "UPDATE refresh_tokens SET used_at = now() WHERE jti = %s AND used_at IS NULL "
        "AND revoked_at IS NULL AND expires_at > now() RETURNING user_id",
        (key,),
    )
    row = await cur.fetchone()
    if row is not None:
        return "ok", row["user_id"]
    cur = await conn.execute(
        "SELECT user_id, used_at, revoked_at, expires_at <= now() AS expired "
        "FROM refresh_tokens WHERE jti = %s",
        (key,),
    )
    row = await cur.fetchone()
    if row is None:
        return "unknown", None
    if row["used_at"] is not None:
        return "reused", row["user_id"]
    if row["revoked_at"] is not None:
        return "revoked", row["user_id"]
    return "expired", row["user_id"]


async def revoke_refresh(conn: AsyncConnection, jti: str) -> int | None:
    """Revoke one refresh token; its user id (None if unknown)."""
    cur = await conn.execute(
        "UPDATE refresh_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE jti = %s "
        "RETURNING user_id",
        (digest(jti),),
    )
    row = await cur.fetchone()
    return None if row is None else row["user_id"]


# -- API keys ------------------------------------------------------------------------------
KEY_COLUMNS = "key_id, prefix, name, role, created_by, created_at, last_used_at, revoked_at"


async def create_key(
    conn: AsyncConnection, name: str, role: str, created_by: str | None
) -> tuple[Row, str]:
    """A new API key: its row and the key itself (shown once, stored only as a digest)."""
    key, prefix = new_api_key()
    cur = await conn.execute(
        "INSERT INTO api_keys (prefix, key_hash, name, role, created_by) "
        f"VALUES (%s, %s, %s, %s, %s) RETURNING {KEY_COLUMNS}",
        (prefix, digest(key), name, role, created_by),
    )
    row = await cur.fetchone()
    assert row is not None
    return row, key


async def key_by_secret(conn: AsyncConnection, key: str) -> Row | None:
    """The live (not revoked) key row of ``key``, its last use noted; None otherwise."""
    cur = await conn.execute(
        "UPDATE api_keys SET last_used_at = now() WHERE key_hash = %s AND revoked_at IS NULL "
        f"RETURNING {KEY_COLUMNS}",
        (digest(key),),
    )
    return await cur.fetchone()


async def revoke_key(conn: AsyncConnection, key_id: int) -> Row | None:
    cur = await conn.execute(
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE key_id = %s "
        f"RETURNING {KEY_COLUMNS}",
        (key_id,),
    )
    return await cur.fetchone()


async def list_keys(conn: AsyncConnection) -> list[Row]:
    cur = await conn.execute(f"SELECT {KEY_COLUMNS} FROM api_keys ORDER BY key_id")
    return await cur.fetchall()


# -- audit log -----------------------------------------------------------------------------
async def audit(
    conn: AsyncConnection,
    event: str,
    outcome: str,
    *,
    actor: str | None = None,
    subject: str | None = None,
    ip: str | None = None,
    request_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO audit_log (event, outcome, actor, subject, ip, request_id, detail) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (event, outcome, actor, subject, ip, request_id, Jsonb(detail) if detail else None),
    )


async def audit_rows(
    conn: AsyncConnection, limit: int, offset: int, event: str | None = None
) -> list[Row]:
    where, args = ("WHERE event = %s", [event]) if event else ("", [])
    cur = await conn.execute(
        "SELECT audit_id, at, event, outcome, actor, subject, ip, request_id, detail "
        f"FROM audit_log {where} ORDER BY audit_id DESC LIMIT %s OFFSET %s",
        (*args, limit, offset),
    )
    return await cur.fetchall()
