"""``/api/v1/insights``: consistency, team-mate head-to-head and track evolution."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.analytics_models import ConsistencyInsight, HeadToHead, TrackEvolution
from api.deps import Res
from api.params import SessionQuery
from api.services import analytics

router = APIRouter(prefix="/api/v1/insights", tags=["analytics"])


def _json(body: bytes) -> Response:
    return Response(body, media_type="application/json")


@router.get("/consistency", response_model=ConsistencyInsight, summary="Consistency")
async def consistency(res: Res, session: SessionQuery) -> Response:
    """Every driver's spread of clean laps (fuel-corrected in a race), the spread left after
    each stint's tyre trend, and the share of laps within 0.5 s of his median."""
    return _json(await analytics.consistency(res, session))


@router.get("/head-to-head", response_model=HeadToHead, summary="Team mates head to head")
async def head_to_head(res: Res, session: SessionQuery) -> Response:
    """Race: who finished ahead, laps spent ahead, median lap-for-lap pace difference;
    qualifying and practice: best laps and their difference."""
    return _json(await analytics.head_to_head(res, session))


@router.get("/track-evolution", response_model=TrackEvolution, summary="Track evolution")
async def track_evolution(res: Res, session: SessionQuery) -> Response:
    """The field's clean laps relative to each driver's median, per lap (race) or per 5
    minutes (timed sessions), and the straight-line rate."""
    return _json(await analytics.track_evolution(res, session))
