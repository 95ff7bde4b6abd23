"""Pre-race win and podium chances: the next race and any race with stored predictions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path

from api import history
from api.deps import PG, Resources, resources
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
async def next_race(conn: PG, res: Annotated[Resources, Depends(resources)]) -> RacePrediction:
    """Each driver's chance to win and to finish on the podium at the next race (the first
    after the last one with results): before qualifying, and after it once the grid is
    known (``predictions`` holds the latest moment). Stored by the automatic update after
    each ingest, served from Redis."""
    race_id = await history.next_race_id(conn)
    if race_id is None:
        raise HTTPException(404, "no race after the last one with results in the calendar")
    doc = await history.prediction(conn, res.redis, race_id)
    if doc is None:
        raise HTTPException(
            404, f"no prediction stored for the next race ({race_id}): run `pitwall ingest ergast`"
        )
    return doc


@router.get(
    "/race/{race_id}",
    response_model=RacePrediction,
    summary="Chances for one race",
    responses=NOT_FOUND,
)
async def race_prediction(
    race_id: RaceId, conn: PG, res: Annotated[Resources, Depends(resources)]
) -> RacePrediction:
    """The predictions stored for a race: ``live`` ones made before it, or ``backfill`` ones
    made afterwards by a model trained only on the races before it."""
    doc = await history.prediction(conn, res.redis, race_id)
    if doc is None:
        info = await history.race(conn, race_id)
        raise HTTPException(
            404, f"no prediction stored for race {race_id} ({info['season']} {info['race_name']})"
        )
    return doc
