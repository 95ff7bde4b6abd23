"""Sessions: the list, one session's detail, its laps, stints, track status and strategy.

History comes from PostgreSQL (what the sink stored); the live part (standings, current lap)
from Redis, where the Redis writer keeps each session's latest state.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, HTTPException, Query

from api import live, queries
from api.deps import PG, Redis_, SessionKey
from api.models import (
    Lap,
    SessionDetail,
    SessionSummary,
    Stint,
    StrategySnapshot,
    TrackStatusChange,
)
from schemas.live import LiveSnapshot

router = APIRouter(prefix="/sessions", tags=["sessions"])

DRIVER_RE = re.compile(r"^[A-Za-z]{3}$")


def driver_param(driver: str | None) -> str | None:
    if driver is None:
        return None
    if not DRIVER_RE.match(driver):
        raise HTTPException(422, f"invalid driver {driver!r}: use the three-letter code, e.g. VER")
    return driver.upper()


def lap_range(from_lap: int | None, to_lap: int | None) -> None:
    if from_lap is not None and to_lap is not None and from_lap > to_lap:
        raise HTTPException(422, f"from_lap ({from_lap}) is after to_lap ({to_lap})")


async def _live_info(redis: Redis_, session_key: str) -> dict[str, Any] | None:
    raw = await redis.get(live.session_key_name(session_key, "info"))
    return orjson.loads(raw) if raw else None


@router.get("", response_model=list[SessionSummary], summary="List sessions")
async def list_sessions(redis: Redis_, conn: PG) -> list[SessionSummary]:
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


def _known(info: dict[str, Any]) -> dict[str, Any]:
    fields = SessionDetail.model_fields
    return {k: v for k, v in info.items() if k in fields and v is not None}


@router.get("/{session_key}", response_model=SessionDetail, summary="One session")
async def get_session(session_key: SessionKey, redis: Redis_, conn: PG) -> SessionDetail:
    """Session info, latest status and lap, drivers, live standings and track status."""
    stored = await queries.stored_session(conn, session_key)
    snap = await live.snapshot(redis, session_key, history=0)
    if stored is None and not snap["known"]:
        raise HTTPException(404, f"session {session_key!r} not found (stored or live)")
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


async def _require_session(conn: PG, session_key: str) -> None:
    if not await queries.session_exists(conn, session_key):
        raise HTTPException(404, f"session {session_key!r} not found in the database")


@router.get("/{session_key}/laps", response_model=list[Lap], summary="Laps of a session")
async def get_laps(
    session_key: SessionKey,
    conn: PG,
    driver: Annotated[
        str | None, Query(description="Three-letter code, e.g. VER.", pattern=r"^[A-Za-z]{3}$")
    ] = None,
    from_lap: Annotated[int | None, Query(ge=0, le=200)] = None,
    to_lap: Annotated[int | None, Query(ge=0, le=200)] = None,
) -> list[dict[str, Any]]:
    """Every completed lap (one row per driver and lap), in lap then position order."""
    drv = driver_param(driver)
    lap_range(from_lap, to_lap)
    rows = await queries.laps(conn, session_key, drv, from_lap, to_lap)
    if not rows:
        await _require_session(conn, session_key)
    return rows


@router.get("/{session_key}/stints", response_model=list[Stint], summary="Tyre stints")
async def get_stints(
    session_key: SessionKey,
    conn: PG,
    driver: Annotated[
        str | None, Query(description="Three-letter code, e.g. VER.", pattern=r"^[A-Za-z]{3}$")
    ] = None,
) -> list[dict[str, Any]]:
    """Every tyre stint: compound, new or used, age at start, lap it started."""
    rows = await queries.stints(conn, session_key, driver_param(driver))
    if not rows:
        await _require_session(conn, session_key)
    return rows


@router.get(
    "/{session_key}/track-status",
    response_model=list[TrackStatusChange],
    summary="Track status changes",
)
async def get_track_status(session_key: SessionKey, conn: PG) -> list[dict[str, Any]]:
    """Every green / yellow / SC / VSC / red change in session-time order."""
    rows = await queries.track_status(conn, session_key)
    if not rows:
        await _require_session(conn, session_key)
    return rows


@router.get(
    "/{session_key}/strategy",
    response_model=list[StrategySnapshot],
    summary="Strategy updates stored for a session",
)
async def get_strategy(
    session_key: SessionKey,
    conn: PG,
    latest: Annotated[bool, Query(description="Only the newest update.")] = False,
    from_lap: Annotated[int | None, Query(ge=0, le=200)] = None,
    to_lap: Annotated[int | None, Query(ge=0, le=200)] = None,
) -> list[dict[str, Any]]:
    """The stream worker's strategy updates (whole-field recommendations) as stored."""
    lap_range(from_lap, to_lap)
    rows = await queries.strategy(conn, session_key, from_lap, to_lap, latest_only=latest)
    if not rows:
        await _require_session(conn, session_key)
    return rows


@router.get(
    "/{session_key}/live",
    response_model=LiveSnapshot,
    summary="Live state (what a WebSocket client gets on connect)",
)
async def get_live(session_key: SessionKey, redis: Redis_) -> dict[str, Any]:
    """Info, standings, track status, latest strategy, its history and degradation (Redis)."""
    snap = await live.snapshot(redis, session_key)
    if not snap["known"]:
        raise HTTPException(404, f"no live state for session {session_key!r}")
    return snap
