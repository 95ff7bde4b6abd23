"""Strategy: the decision engine's advice for a race state, and plans compared head to head."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Models
from api.models import CompareRequest, CompareResult, OptimalRequest, OptimalResult
from api.services import simulation

router = APIRouter(prefix="/strategies", tags=["strategies"])


@router.post("/optimal", response_model=OptimalResult, summary="Best strategy for every car")
async def optimal(req: OptimalRequest, models: Models) -> OptimalResult:
    """Pit window, recommended compound, undercut/overcut threats and win/podium chances for
    every running car, from the decision engine plus the Monte Carlo."""
    return await simulation.optimal(req, models)


@router.post("/compare", response_model=CompareResult, summary="Compare plans of one driver")
async def compare(req: CompareRequest, models: Models) -> CompareResult:
    """Race each candidate plan of one driver against the field's best plans (same random
    numbers for every candidate, so differences are the plans', not the noise's)."""
    return await simulation.compare_plans(req, models)
