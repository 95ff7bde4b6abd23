"""``/api/v1/compare``: drivers and teams of one session side by side, chart-ready."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from api import analytics
from api.analytics_models import DriverComparison, TeamComparison
from api.deps import Resources, resources
from api.params import SessionQuery, driver_list

router = APIRouter(prefix="/api/v1/compare", tags=["analytics"])
Res = Annotated[Resources, Depends(resources)]


def _json(body: bytes) -> Response:
    return Response(body, media_type="application/json")


@router.get("/drivers", response_model=DriverComparison, summary="Compare drivers")
async def compare_drivers(
    res: Res,
    session: SessionQuery,
    drivers: Annotated[
        str, Query(description="2 to 6 three-letter codes, comma-separated.", examples=["VER,ALO"])
    ],
) -> Response:
    """Lap times (raw and fuel-corrected, clean or not) and their distribution, race pace
    (fuel- and tyre-corrected) or best laps, sector times and speed traps with deltas to the
    first driver, degradation per stint and consistency of each driver."""
    names = driver_list(drivers)
    settings = res.settings

    def compute() -> object:
        return DriverComparison(
            **analytics.compare_drivers(analytics.load(session, settings), names)
        )

    return _json(await analytics.cached(res.redis, "drivers", session, ",".join(names), compute))


@router.get("/teams", response_model=TeamComparison, summary="Compare teams")
async def compare_teams(res: Res, session: SessionQuery) -> Response:
    """Each team's pace (race: tyre-corrected; timed sessions: its best lap), gap to the best,
    top speed and median degradation per compound."""
    settings = res.settings

    def compute() -> object:
        return TeamComparison(**analytics.compare_teams(analytics.load(session, settings)))

    return _json(await analytics.cached(res.redis, "teams", session, "", compute))
