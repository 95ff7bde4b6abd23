"""The comparisons and insights of a session (``analytics``), on its archived laps or, while
it is live, on the laps stored so far, as cached JSON (``api.services.cache``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from analytics import comparison, insights
from analytics.session import SessionLaps
from api.analytics_models import (
    ConsistencyInsight,
    DriverComparison,
    HeadToHead,
    TeamComparison,
    TrackEvolution,
)
from api.resources import Resources
from api.services.cache import cached
from api.services.session_laps import live_laps, session_for


async def on_session_laps(
    res: Resources, name: str, session: str, params: str, build: Callable[[SessionLaps], Any]
) -> bytes:
    """The JSON of ``build`` over the session's laps (a live session's stored laps when there
    are some), from the cache under ``name`` and ``params`` when there."""

    def compute(live: object) -> Any:
        return build(session_for(res, session, live).laps)  # type: ignore[arg-type]

    return await cached(res.redis, name, session, params, compute, lambda: live_laps(res, session))


async def compare_drivers(res: Resources, session: str, drivers: list[str]) -> bytes:
    def build(s: SessionLaps) -> BaseModel:
        return DriverComparison(**comparison.compare_drivers(s, drivers))

    return await on_session_laps(res, "drivers", session, ",".join(drivers), build)


async def compare_teams(res: Resources, session: str) -> bytes:
    def build(s: SessionLaps) -> BaseModel:
        return TeamComparison(**comparison.compare_teams(s))

    return await on_session_laps(res, "teams", session, "", build)


async def consistency(res: Resources, session: str) -> bytes:
    def build(s: SessionLaps) -> BaseModel:
        return ConsistencyInsight(**insights.consistency_insight(s))

    return await on_session_laps(res, "consistency", session, "", build)


async def head_to_head(res: Resources, session: str) -> bytes:
    def build(s: SessionLaps) -> BaseModel:
        return HeadToHead(**insights.head_to_head_insight(s))

    return await on_session_laps(res, "h2h", session, "", build)


async def track_evolution(res: Resources, session: str) -> bytes:
    def build(s: SessionLaps) -> BaseModel:
        return TrackEvolution(**insights.evolution_insight(s))

    return await on_session_laps(res, "evolution", session, "", build)
