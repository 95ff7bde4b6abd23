"""Exports of a session's laps and strategy updates as CSV or JSON files."""

from __future__ import annotations

import csv
import io
from enum import StrEnum
from typing import Any

import orjson
from fastapi import APIRouter, HTTPException, Query, Response

from api import queries
from api.deps import PG, SessionKey
from api.queries import LAP_COLUMNS

router = APIRouter(prefix="/exports", tags=["exports"])

STRATEGY_COLUMNS = [
    "lap", "session_time", "track_status", "trigger", "trigger_driver", "driver", "position",
    "compound", "tyre_age", "stops", "pit_open_lap", "pit_best_lap", "pit_close_lap",
    "recommended_compound", "pit_now", "stay_out", "win_prob", "podium_prob",
    "expected_position", "undercut_threat", "undercut_opportunity", "confidence",
]  # fmt: skip


class Format(StrEnum):
    csv = "csv"
    json = "json"


def _file(rows: list[dict[str, Any]], columns: list[str], fmt: Format, name: str) -> Response:
    if fmt is Format.json:
        body = orjson.dumps(rows, option=orjson.OPT_NAIVE_UTC)
        media = "application/json"
    else:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        body, media = buf.getvalue().encode(), "text/csv; charset=utf-8"
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt.value}"'},
    )


async def _ensure(conn, session_key: str, rows: list) -> None:
    if not rows and not await queries.session_exists(conn, session_key):
        raise HTTPException(404, f"session {session_key!r} not found in the database")


@router.get(
    "/sessions/{session_key}/laps",
    summary="Download laps",
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
)
async def export_laps(
    session_key: SessionKey,
    conn: PG,
    format: Format = Query(Format.csv, description="csv or json"),
) -> Response:
    """Every lap of the session, one row per driver and lap."""
    rows = await queries.laps(conn, session_key)
    await _ensure(conn, session_key, rows)
    columns = [c.strip() for c in LAP_COLUMNS.split(",")]
    return _file(rows, columns, format, f"{session_key}-laps")


@router.get(
    "/sessions/{session_key}/strategy",
    summary="Download strategy updates",
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
)
async def export_strategy(
    session_key: SessionKey,
    conn: PG,
    format: Format = Query(Format.csv, description="csv (one row per update and driver) or json"),
) -> Response:
    """Every strategy update; CSV flattens it to one row per update and driver."""
    rows = await queries.strategy(conn, session_key)
    await _ensure(conn, session_key, rows)
    if format is Format.json:
        return _file(rows, [], format, f"{session_key}-strategy")
    flat = []
    for row in rows:
        recs = row["recommendations"]
        if isinstance(recs, str | bytes):
            recs = orjson.loads(recs)
        for rec in recs or []:
            window = rec.get("pit_window") or {}
            flat.append(
                {
                    **{
                        k: row[k]
                        for k in (
                            "lap",
                            "session_time",
                            "track_status",
                            "trigger",
                            "trigger_driver",
                        )
                    },
                    **rec,
                    "pit_open_lap": window.get("open_lap"),
                    "pit_best_lap": window.get("best_lap"),
                    "pit_close_lap": window.get("close_lap"),
                }
            )
    return _file(flat, STRATEGY_COLUMNS, format, f"{session_key}-strategy")
