"""``/api/v1/compare``: drivers and teams of one session side by side, chart-ready."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.analytics_models import DriverComparison, TeamComparison
from api.deps import Res
from api.params import DRIVERS_PATTERN, SessionQuery, driver_list
from api.services import analytics

router = APIRouter(prefix="/api/v1/compare", tags=["analytics"])


def _json(body: bytes) -> Response:
    return Response(body, media_type="application/json")


@router.get("/drivers", response_model=DriverComparison, summary="Compare drivers")
async def compare_drivers(
    res: Res,
    session: SessionQuery,
    drivers: Annotated[
        str,
        Query(
            description="1 to 6 three-letter codes, comma-separated; a code given twice "
            "counts once (one code: that driver's own figures).",
            examples=["VER,ALO"],
            pattern=DRIVERS_PATTERN,
            max_length=23,
        ),
    ],
) -> Response:
    """Lap times (raw and fuel-corrected, clean or not) and their distribution, race pace
    (fuel- and tyre-corrected) or best laps, sector times and speed traps with deltas to the
    first driver, degradation per stint and consistency of each driver. A live session is
    analysed on the laps stored so far (``laps_source: live``)."""
    return _json(await analytics.compare_drivers(res, session, driver_list(drivers)))


@router.get("/teams", response_model=TeamComparison, summary="Compare teams")
async def compare_teams(res: Res, session: SessionQuery) -> Response:
    """Each team's pace (race: tyre-corrected; timed sessions: its best lap), gap to the best,
    top speed and median degradation per compound."""
    return _json(await analytics.compare_teams(res, session))
