"""Downloads of a season's race results and of a race's stored predictions (CSV or JSON)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response

from api import history
from api.deps import PG
from api.routers.exports import Format, _file

router = APIRouter(prefix="/api/v1/export", tags=["exports"])
FILE = {200: {"content": {"text/csv": {}, "application/json": {}}}}

RESULT_COLUMNS = [
    "season", "round", "race_id", "race_name", "date", "position", "position_text",
    "driver_id", "driver_ref", "code", "driver_name", "constructor_id", "team", "grid", "laps",
    "time", "points", "status",
]  # fmt: skip
PREDICTION_COLUMNS = [
    "race_id", "season", "round", "race_name", "moment", "driver_id", "code", "driver_name",
    "team", "grid", "win_probability", "podium_probability", "model_version", "kind",
    "generated_at",
]  # fmt: skip


@router.get("/race-results", summary="Download a season's results", responses=FILE)
async def race_results(
    conn: PG,
    season: Annotated[int, Query(ge=1950, le=2100, description="Season to export.")],
    format: Annotated[Format, Query(description="csv or json")] = Format.csv,
) -> Response:
    """Every result of every race of the season, one row per driver and race."""
    await history.check_season(conn, season)
    rows = await history.rows(
        conn,
        """
        SELECT r.season, r.round, r.race_id, r.name AS race_name, r.date, x.position,
               x.position_text, x.driver_id, d.driver_ref, d.code,
               d.forename || ' ' || d.surname AS driver_name, x.constructor_id,
               c.name AS team, x.grid, x.laps, x.time, x.points, s.status
        FROM results x JOIN races r USING (race_id) JOIN drivers d USING (driver_id)
        LEFT JOIN constructors c USING (constructor_id) LEFT JOIN status s USING (status_id)
        WHERE r.season = %s ORDER BY r.round, x.position_order
        """,
        season,
    )
    if not rows:
        raise HTTPException(404, f"no results of {season} in the database yet")
    return _file(rows, RESULT_COLUMNS, format, f"race-results-{season}")


@router.get("/predictions", summary="Download a race's predictions", responses=FILE)
async def predictions(
    conn: PG,
    race_id: Annotated[int, Query(ge=1, le=1_000_000, description="Ergast race id.")],
    format: Annotated[Format, Query(description="csv or json")] = Format.csv,
) -> Response:
    """Every stored chance of the race: one row per moment and driver (percentages)."""
    info = await history.race(conn, race_id)
    rows = await history.rows(
        conn,
        """
        SELECT p.race_id, r.season, r.round, r.name AS race_name, p.moment, p.driver_id, d.code,
               d.forename || ' ' || d.surname AS driver_name, c.name AS team, p.grid,
               round((100 * p.p_win)::numeric, 3)::float AS win_probability,
               round((100 * p.p_podium)::numeric, 3)::float AS podium_probability,
               p.model_version, p.kind, p.generated_at
        FROM predictions p JOIN races r USING (race_id) JOIN drivers d USING (driver_id)
        LEFT JOIN constructors c ON c.constructor_id = p.constructor_id
        WHERE p.race_id = %s ORDER BY p.moment, p.p_win DESC
        """,
        race_id,
    )
    if not rows:
        raise HTTPException(
            404, f"no prediction stored for race {race_id} ({info['season']} {info['race_name']})"
        )
    return _file(rows, PREDICTION_COLUMNS, format, f"predictions-{race_id}")
