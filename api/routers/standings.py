"""Championship standings after any round (Ergast's, or the points rules' where missing)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import PG
from api.history_models import Standings
from api.services import standings as service

router = APIRouter(prefix="/api/v1/standings", tags=["standings"])


class Kind(StrEnum):
    drivers = "drivers"
    constructors = "constructors"


@router.get(
    "/{kind}",
    response_model=Standings,
    summary="Drivers' or constructors' standings",
    responses={404: {"description": "No standings for that season or round."}},
)
async def standings(
    kind: Kind,
    conn: PG,
    season: Annotated[
        int | None, Query(ge=1950, le=2100, description="Season (default: the latest run).")
    ] = None,
    round: Annotated[
        int | None, Query(ge=1, le=40, description="After this round (default: the latest).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Rows per page.")] = 50,
    offset: Annotated[int, Query(ge=0, le=1000, description="Rows to skip.")] = 0,
) -> Standings:
    """Points, position and wins of every driver (or constructor) after a round."""
    return await service.standings(conn, kind.value, season, round, limit, offset)
