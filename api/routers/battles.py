"""``/api/v1/battles`` and ``/api/v1/track``: the battle forecast of a session (live from the
stream worker, or computed per lap from a past race's laps) and the track map."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Response

from api.analytics_models import Battles, Positions, TrackMap
from api.deps import Res
from api.params import LapQuery, SessionPath, lap_range
from api.services import battles as battle_service
from api.services import track_map as track_service

router = APIRouter(prefix="/api/v1", tags=["analytics"])


def _json(body: bytes) -> Response:
    return Response(body, media_type="application/json")


@router.get("/battles/{session}", response_model=Battles, summary="Battle forecast")
async def battles(
    res: Res,
    session: SessionPath,
    lap: LapQuery = None,
    from_lap: LapQuery = None,
    to_lap: LapQuery = None,
    live: Annotated[bool, Query(description="Prefer the live forecast when there is one.")] = True,
) -> Response:
    """Every pair of adjacent cars with the chance of a pass on track within 1, 3 and 5 laps.
    A live session answers the stream worker's latest forecast (``source: live``); otherwise
    the forecast at the end of each lap of the race's laps (``source: laps``, with whether each
    pass really happened), optionally one ``lap`` or a range."""
    lap_range(from_lap, to_lap)
    if lap is not None:
        from_lap = to_lap = lap
    if live and (body := await battle_service.live_forecast(res, session)) is not None:
        return _json(body)
    return _json(await battle_service.from_laps(res, session, from_lap, to_lap))


@router.get("/track/{session}", response_model=TrackMap, summary="Circuit outline")
async def track(res: Res, session: SessionPath) -> Response:
    """The circuit's outline (from the data directory's track outlines), laid onto the cars'
    X/Y coordinates by fitting it to a lap of telemetry where the session has some
    (``frame: car``), else in metres east/north (``frame: metres``)."""
    return _json(await track_service.track_map(res, session))


@router.get("/track/{session}/positions", response_model=Positions, summary="Car positions")
async def positions(res: Res, session: SessionPath) -> Response:
    """Each car's latest X/Y as the Redis writer keeps it (live sessions with telemetry);
    updates follow on the session's WebSocket with kind ``positions``."""
    return _json(orjson.dumps(await track_service.positions(res, session)))
