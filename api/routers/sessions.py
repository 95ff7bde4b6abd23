"""Sessions: the list, one session's detail, its laps, stints, track status and strategy.

History comes from PostgreSQL (what the sink stored); the live part (standings, current lap)
from Redis, where the Redis writer keeps each session's latest state.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from api.deps import PG, Redis_, SessionKey
from api.models import (
    Lap,
    SessionDetail,
    SessionSummary,
    Stint,
    StrategySnapshot,
    TrackStatusChange,
)
from api.params import lap_range
from api.services import sessions
from schemas.live import LiveSnapshot

router = APIRouter(prefix="/sessions", tags=["sessions"])

DRIVER_RE = re.compile(r"^[A-Za-z]{3}$")


def driver_param(driver: str | None) -> str | None:
    if driver is None:
        return None
    if not DRIVER_RE.match(driver):
        raise HTTPException(422, f"invalid driver {driver!r}: use the three-letter code, e.g. VER")
    return driver.upper()


@router.get("", response_model=list[SessionSummary], summary="List sessions")
async def list_sessions(redis: Redis_, conn: PG) -> list[SessionSummary]:
    """Sessions stored in PostgreSQL and sessions with live state in Redis, newest first."""
    return await sessions.list_sessions(redis, conn)


@router.get("/{session_key}", response_model=SessionDetail, summary="One session")
async def get_session(session_key: SessionKey, redis: Redis_, conn: PG) -> SessionDetail:
    """Session info, latest status and lap, drivers, live standings and track status."""
    return await sessions.session_detail(redis, conn, session_key)


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
    return await sessions.laps(conn, session_key, drv, from_lap, to_lap)


@router.get("/{session_key}/stints", response_model=list[Stint], summary="Tyre stints")
async def get_stints(
    session_key: SessionKey,
    conn: PG,
    driver: Annotated[
        str | None, Query(description="Three-letter code, e.g. VER.", pattern=r"^[A-Za-z]{3}$")
    ] = None,
) -> list[dict[str, Any]]:
    """Every tyre stint: compound, new or used, age at start, lap it started."""
    return await sessions.stints(conn, session_key, driver_param(driver))


@router.get(
    "/{session_key}/track-status",
    response_model=list[TrackStatusChange],
    summary="Track status changes",
)
async def get_track_status(session_key: SessionKey, conn: PG) -> list[dict[str, Any]]:
    """Every green / yellow / SC / VSC / red change in session-time order."""
    return await sessions.track_status(conn, session_key)


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
    return await sessions.strategy(conn, session_key, from_lap, to_lap, latest_only=latest)


@router.get(
    "/{session_key}/live",
    response_model=LiveSnapshot,
    summary="Live state (what a WebSocket client gets on connect)",
)
async def get_live(session_key: SessionKey, redis: Redis_) -> dict[str, Any]:
    """Info, standings, track status, latest strategy, its history and degradation (Redis)."""
    return await sessions.live_state(redis, session_key)
