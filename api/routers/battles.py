"""``/api/v1/battles`` and ``/api/v1/track``: the battle forecast of a session (live from the
stream worker, or computed per lap from a past race's laps) and the track map."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Query, Response

from api import analytics
from api.analytics_models import Battles, Positions, TrackMap
from api.deps import Resources, resources
from api.live import session_key_name
from api.params import LapQuery, SessionPath, lap_range

router = APIRouter(prefix="/api/v1", tags=["analytics"])
Res = Annotated[Resources, Depends(resources)]


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
    if live and res.redis is not None:
        raw = await res.redis.get(session_key_name(session, "battles"))
        if raw:
            event = orjson.loads(raw)
            body = {
                "session": session,
                "source": "live",
                "model_version": event.get("model_version"),
                "laps": [{"lap": event["lap"], "pairs": event["pairs"]}],
            }
            return Response(orjson.dumps(body), media_type="application/json")
    settings = res.settings

    def compute(live: object) -> object:
        model = analytics.battle_model(settings)
        s = analytics.session_for(session, settings, live)
        return Battles(**analytics.battles_from_laps(s, model, from_lap, to_lap))

    body = await analytics.cached(
        res.redis,
        "battles",
        session,
        f"{from_lap}:{to_lap}",
        compute,
        lambda: analytics.live_laps(res, session),
    )
    return Response(body, media_type="application/json")


@router.get("/track/{session}", response_model=TrackMap, summary="Circuit outline")
async def track(res: Res, session: SessionPath) -> Response:
    """The circuit's outline (from the data directory's track outlines), laid onto the cars'
    X/Y coordinates by fitting it to a lap of telemetry where the session has some
    (``frame: car``), else in metres east/north (``frame: metres``)."""
    settings = res.settings

    def compute() -> object:
        return TrackMap(**analytics.track_map(analytics.load(session, settings), settings))

    body = await analytics.cached(res.redis, "track", session, "", compute)
    return Response(body, media_type="application/json")


@router.get("/track/{session}/positions", response_model=Positions, summary="Car positions")
async def positions(res: Res, session: SessionPath) -> Response:
    """Each car's latest X/Y as the Redis writer keeps it (live sessions with telemetry);
    updates follow on the session's WebSocket with kind ``positions``."""
    cars = {}
    if res.redis is not None:
        raw = await res.redis.hgetall(session_key_name(session, "positions"))
        for k, v in raw.items():
            c = orjson.loads(v)
            cars[k.decode() if isinstance(k, bytes) else k] = {
                "x": c["x"],
                "y": c["y"],
                "t": c.get("t"),
            }
    return Response(orjson.dumps({"session": session, "cars": cars}), media_type="application/json")
