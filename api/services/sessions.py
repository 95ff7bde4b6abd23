"""Stored and live sessions: what the PostgreSQL sink stored of each (info, laps, stints,
track status, strategy updates) merged with the live state the Redis writer keeps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from psycopg import AsyncConnection
from redis.asyncio import Redis

from api import live, queries
from api.models import SessionDetail, SessionSummary
from api.services.errors import NotFound


async def _live_info(redis: Redis, session_key: str) -> dict[str, Any] | None:
    raw = await redis.get(live.session_key_name(session_key, "info"))
    return orjson.loads(raw) if raw else None


def _known(info: dict[str, Any]) -> dict[str, Any]:
    fields = SessionDetail.model_fields
    return {k: v for k, v in info.items() if k in fields and v is not None}


async def list_sessions(redis: Redis, conn: AsyncConnection) -> list[SessionSummary]:
    """Sessions stored in PostgreSQL and sessions with live state in Redis, newest first."""
    out: dict[str, SessionSummary] = {}
    for row in await queries.stored_sessions(conn):
        out[row["session_key"]] = SessionSummary(**{**row, "live": False})
    for key, score in await live.live_sessions(redis):
        info = await _live_info(redis, key) or {}
        stored = out.get(key)
        merged = {**(stored.model_dump() if stored else {}), **_known(info)}
        merged.update(session_key=key, live=True, updated_at=datetime.fromtimestamp(score, UTC))
        out[key] = SessionSummary(**merged)
    return sorted(
        out.values(),
        key=lambda s: (s.updated_at or datetime.min.replace(tzinfo=UTC), s.session_key),
        reverse=True,
    )


async def session_detail(redis: Redis, conn: AsyncConnection, session_key: str) -> SessionDetail:
    """Session info, latest status and lap, drivers, live standings and track status."""
    stored = await queries.stored_session(conn, session_key)
    snap = await live.snapshot(redis, session_key, history=0)
    if stored is None and not snap["known"]:
        raise NotFound(f"session {session_key!r} not found (stored or live)")
    merged: dict[str, Any] = {**(stored or {}), **_known(snap["info"] or {})}
    merged["drivers"] = merged.get("drivers") or []
    merged.update(
        session_key=session_key,
        live=snap["known"],
        standings=snap["standings"],
        track_status=snap["track_status"],
    )
    if snap["updated_at"]:
        merged["updated_at"] = datetime.fromtimestamp(snap["updated_at"], UTC)
    return SessionDetail(**merged)


async def _stored(
    conn: AsyncConnection, session_key: str, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``rows`` read of a session; ``NotFound`` when there are none because the database does
    not know the session (an empty answer of a known session stays empty)."""
    if not rows and not await queries.session_exists(conn, session_key):
        raise NotFound(f"session {session_key!r} not found in the database")
    return rows


async def laps(
    conn: AsyncConnection,
    session_key: str,
    driver: str | None = None,
    from_lap: int | None = None,
    to_lap: int | None = None,
) -> list[dict[str, Any]]:
    """The session's completed laps (of ``driver``, between the laps given)."""
    rows = await queries.laps(conn, session_key, driver, from_lap, to_lap)
    return await _stored(conn, session_key, rows)


async def stints(
    conn: AsyncConnection, session_key: str, driver: str | None = None
) -> list[dict[str, Any]]:
    """The session's tyre stints (of ``driver``)."""
    return await _stored(conn, session_key, await queries.stints(conn, session_key, driver))


async def track_status(conn: AsyncConnection, session_key: str) -> list[dict[str, Any]]:
    """The session's track status changes."""
    return await _stored(conn, session_key, await queries.track_status(conn, session_key))


async def strategy(
    conn: AsyncConnection,
    session_key: str,
    from_lap: int | None = None,
    to_lap: int | None = None,
    latest_only: bool = False,
) -> list[dict[str, Any]]:
    """The stream worker's strategy updates of the session, as stored."""
    rows = await queries.strategy(conn, session_key, from_lap, to_lap, latest_only)
    return await _stored(conn, session_key, rows)


async def live_state(redis: Redis, session_key: str) -> dict[str, Any]:
    """What a WebSocket client gets on connect (``api.live.snapshot``)."""
    snap = await live.snapshot(redis, session_key)
    if not snap["known"]:
        raise NotFound(f"no live state for session {session_key!r}")
    return snap
