"""Exports of a session's laps and strategy updates as CSV or JSON files."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from api.deps import PG, SessionKey
from api.downloads import FILE, Format, download
from api.services import exports, sessions

router = APIRouter(prefix="/exports", tags=["exports"])


@router.get("/sessions/{session_key}/laps", summary="Download laps", responses=FILE)
async def export_laps(
    session_key: SessionKey,
    conn: PG,
    format: Format = Query(Format.csv, description="csv or json"),
) -> Response:
    """Every lap of the session, one row per driver and lap."""
    rows = await sessions.laps(conn, session_key)
    return download(rows, exports.LAP_FIELDS, format, f"{session_key}-laps")


@router.get("/sessions/{session_key}/strategy", summary="Download strategy updates", responses=FILE)
async def export_strategy(
    session_key: SessionKey,
    conn: PG,
    format: Format = Query(Format.csv, description="csv (one row per update and driver) or json"),
) -> Response:
    """Every strategy update; CSV flattens it to one row per update and driver."""
    rows = await sessions.strategy(conn, session_key)
    name = f"{session_key}-strategy"
    if format is Format.json:
        return download(rows, [], format, name)
    return download(exports.strategy_rows(rows), exports.STRATEGY_COLUMNS, format, name)
