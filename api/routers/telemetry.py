"""``/api/v1/telemetry``: one lap's distance-aligned traces, and two laps compared."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response

from api.analytics_models import LapTelemetry, TelemetryComparison
from api.deps import Res
from api.params import (
    TWO_DRIVERS_PATTERN,
    DriverPath,
    LapPath,
    SessionPath,
    SessionQuery,
    driver_list,
)
from api.services import telemetry

#: A lap number 1-200, as a pattern (the schema states the range the handler checks).
LAP = "(?:[1-9][0-9]?|1[0-9]{2}|200)"
router = APIRouter(prefix="/api/v1/telemetry", tags=["analytics"])
Step = Annotated[float, Query(ge=1, le=50, description="Metres between trace points.")]


@router.get(
    "/{session}/{driver}/lap/{lap}", response_model=LapTelemetry, summary="One lap's telemetry"
)
async def lap_telemetry(
    res: Res, session: SessionPath, driver: DriverPath, lap: LapPath, step: Step = 10.0
) -> Response:
    """Speed, throttle, brake, gear, DRS and X/Y every ``step`` metres from the line, the time
    along the lap, and the minimum speed of each corner. 404 when the session's source has no
    car telemetry (the FastF1 cache of 2018-2024 has none; the 2025 Australian GP has it)."""
    body = await telemetry.lap(res, session, driver, lap, step)
    return Response(body, media_type="application/json")


@router.get("/compare", response_model=TelemetryComparison, summary="Two laps compared")
async def compare(
    res: Res,
    session: SessionQuery,
    drivers: Annotated[
        str,
        Query(
            description="Two codes: reference first. The same code twice compares two laps "
            "of one driver (give them in laps).",
            examples=["NOR,VER"],
            pattern=TWO_DRIVERS_PATTERN,
            max_length=7,
        ),
    ],
    laps: Annotated[
        str | None,
        Query(
            description="Their laps, e.g. 12,15 (default: each driver's fastest).",
            max_length=7,
            pattern=rf"^{LAP},{LAP}$",
        ),
    ] = None,
    step: Step = 10.0,
) -> Response:
    """Both laps' traces, the time delta of the second to the first along the lap (ending at
    their lap-time difference), mini-sector times and who was fastest in each, and the
    reference's corners with both minimum speeds."""
    names = driver_list(drivers, distinct=False)
    wanted: list[int | None] = [None, None]
    if laps:
        try:
            wanted = [int(x) for x in laps.split(",")]
        except ValueError:
            raise HTTPException(422, f"laps: {laps!r} is not two lap numbers, e.g. 12,15") from None
        if len(wanted) != 2 or not all(1 <= n <= 200 for n in wanted):  # type: ignore[operator]
            raise HTTPException(422, f"laps: {laps!r}: give two lap numbers 1-200, e.g. 12,15")
    body = await telemetry.compare(res, session, names, wanted, step)
    return Response(body, media_type="application/json")
