"""The calendar of a season and the results of a race (with the weekend's weather)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import PG
from api.history_models import Calendar, RaceResults
from api.routers.race_predictions import RaceId
from api.services import races

router = APIRouter(prefix="/api/v1/races", tags=["races"])
Season = Annotated[
    int | None,
    Query(ge=1950, le=2100, description="Season (default: the next race's, else the latest)."),
]


@router.get("/calendar", response_model=Calendar, summary="A season's calendar")
async def calendar(conn: PG, season: Season = None) -> Calendar:
    """Every race of the season with its date, circuit, whether it is a sprint weekend, the
    winner once run, and a summary of the latest stored prediction (the favourite)."""
    return await races.calendar(conn, season)


@router.get(
    "/{race_id}/results",
    response_model=RaceResults,
    summary="A race's results and weather",
    responses={404: {"description": "Unknown race, or a race not run yet."}},
)
async def results(race_id: RaceId, conn: PG) -> RaceResults:
    """The classification (and the sprint's on sprint weekends) with the weekend's weather
    from the FastF1 sessions where the data has it (``weather`` null otherwise)."""
    return await races.results(conn, race_id)
