"""How accurate the pre-race predictions were, and the drivers' Elo ratings."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import PG
from api.history_models import Accuracy, Rankings, RatingHistory
from api.services import accuracy as accuracy_service
from api.services import ratings

router = APIRouter(prefix="/api/v1/analytics", tags=["prediction analytics"])
Season = Annotated[
    int | None, Query(ge=1950, le=2100, description="Season (default: the latest with data).")
]


class Moment(StrEnum):
    pre = "pre"
    post = "post"


class RatingKind(StrEnum):
    driver = "driver"
    constructor = "constructor"


@router.get("/accuracy", response_model=Accuracy, summary="Accuracy of past predictions")
async def accuracy(
    conn: PG,
    season: Season = None,
    moment: Annotated[
        Moment, Query(description="pre: before qualifying; post: after qualifying.")
    ] = Moment.post,
) -> Accuracy:
    """Per finished race: the scores of the stored prediction (win Brier, log-loss, winner
    in top 1, podium Brier, top-3 hit rate) beside the baseline's (the grid-slot rate after
    qualifying, climatology before it), with season means and 95% bootstrap intervals."""
    return await accuracy_service.accuracy(conn, season, moment.value)


@router.get("/driver-rankings", response_model=Rankings, summary="Drivers by Elo rating")
async def driver_rankings(
    conn: PG,
    season: Season = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Rows per page.")] = 50,
    offset: Annotated[int, Query(ge=0, le=1000, description="Rows to skip.")] = 0,
) -> Rankings:
    """The season's drivers ranked by Elo rating after its last race run, with their
    championship points and position, wins, podiums and starts that season."""
    return await ratings.driver_rankings(conn, season, limit, offset)


@router.get("/rating-history", response_model=RatingHistory, summary="Elo over a season")
async def rating_history(
    conn: PG,
    season: Season = None,
    kind: Annotated[RatingKind, Query(description="driver or constructor")] = RatingKind.driver,
    top: Annotated[int, Query(ge=1, le=30, description="Best-rated at the end to include.")] = 10,
) -> RatingHistory:
    """The rating after each race of the season of the ``top`` best-rated at its end (for a
    line chart): one series per driver or constructor, one value per race (null if absent)."""
    return await ratings.rating_history(conn, season, kind.value, top)
