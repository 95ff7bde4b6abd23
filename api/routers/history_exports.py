"""Downloads of a season's race results and of a race's stored predictions (CSV or JSON)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import PG
from api.downloads import FILE, Format, download
from api.services import exports

router = APIRouter(prefix="/api/v1/export", tags=["exports"])


@router.get("/race-results", summary="Download a season's results", responses=FILE)
async def race_results(
    conn: PG,
    season: Annotated[int, Query(ge=1950, le=2100, description="Season to export.")],
    format: Annotated[Format, Query(description="csv or json")] = Format.csv,
) -> Response:
    """Every result of every race of the season, one row per driver and race."""
    rows = await exports.season_results(conn, season)
    return download(rows, exports.RESULT_COLUMNS, format, f"race-results-{season}")


@router.get("/predictions", summary="Download a race's predictions", responses=FILE)
async def predictions(
    conn: PG,
    race_id: Annotated[int, Query(ge=1, le=1_000_000, description="Ergast race id.")],
    format: Annotated[Format, Query(description="csv or json")] = Format.csv,
) -> Response:
    """Every stored chance of the race: one row per moment and driver (percentages)."""
    rows = await exports.race_predictions(conn, race_id)
    return download(rows, exports.PREDICTION_COLUMNS, format, f"predictions-{race_id}")
