"""Pre-race win and podium chances: the next race and any race with stored predictions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.deps import PG, Res
from api.services import history
from schemas.winner import RacePrediction

router = APIRouter(prefix="/api/v1/predictions", tags=["race predictions"])
NOT_FOUND = {404: {"description": "No such race, or no prediction stored for it."}}
RaceId = Annotated[int, Path(ge=1, le=1_000_000, description="Ergast race id.")]


@router.get(
    "/next-race",
    response_model=RacePrediction,
    summary="Chances for the next race",
    responses=NOT_FOUND,
)
async def next_race(conn: PG, res: Res) -> RacePrediction:
    """Each driver's chance to win and to finish on the podium at the next race (the first
    after the last one with results): before qualifying, and after it once the grid is
    known (``predictions`` holds the latest moment). Stored by the automatic update after
    each ingest, served from Redis."""
    return await history.next_race_prediction(conn, res.redis)


@router.get(
    "/race/{race_id}",
    response_model=RacePrediction,
    summary="Chances for one race",
    responses=NOT_FOUND,
)
async def race_prediction(race_id: RaceId, conn: PG, res: Res) -> RacePrediction:
    """The predictions stored for a race: ``live`` ones made before it, or ``backfill`` ones
    made afterwards by a model trained only on the races before it."""
    return await history.stored_prediction(conn, res.redis, race_id)
