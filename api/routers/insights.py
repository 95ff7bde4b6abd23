"""``/api/v1/insights``: consistency, team-mate head-to-head and track evolution."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from api import analytics
from api.analytics_models import ConsistencyInsight, HeadToHead, TrackEvolution
from api.deps import Resources, resources
from api.params import SessionQuery

router = APIRouter(prefix="/api/v1/insights", tags=["analytics"])
Res = Annotated[Resources, Depends(resources)]


async def _insight(res: Resources, name: str, session: str, build, model) -> Response:
    settings = res.settings

    def compute(live: object) -> object:
        return model(**build(analytics.session_for(session, settings, live)))

    body = await analytics.cached(
        res.redis, name, session, "", compute, lambda: analytics.live_laps(res, session)
    )
    return Response(body, media_type="application/json")


@router.get("/consistency", response_model=ConsistencyInsight, summary="Consistency")
async def consistency(res: Res, session: SessionQuery) -> Response:
    """Every driver's spread of clean laps (fuel-corrected in a race), the spread left after
    each stint's tyre trend, and the share of laps within 0.5 s of his median."""
    return await _insight(
        res, "consistency", session, analytics.consistency_insight, ConsistencyInsight
    )


@router.get("/head-to-head", response_model=HeadToHead, summary="Team mates head to head")
async def head_to_head(res: Res, session: SessionQuery) -> Response:
    """Race: who finished ahead, laps spent ahead, median lap-for-lap pace difference;
    qualifying and practice: best laps and their difference."""
    return await _insight(res, "h2h", session, analytics.head_to_head_insight, HeadToHead)


@router.get("/track-evolution", response_model=TrackEvolution, summary="Track evolution")
async def track_evolution(res: Res, session: SessionQuery) -> Response:
    """The field's clean laps relative to each driver's median, per lap (race) or per 5
    minutes (timed sessions), and the straight-line rate."""
    return await _insight(res, "evolution", session, analytics.evolution_insight, TrackEvolution)
