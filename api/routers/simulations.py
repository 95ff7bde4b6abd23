"""The Monte Carlo race simulator on a posted race state."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from api.deps import Models
from api.models import SimulationRequest, SimulationResult
from api.services import simulation

router = APIRouter(prefix="/simulations", tags=["simulations"])


@router.post("/race", response_model=SimulationResult, summary="Simulate the rest of a race")
async def simulate_race(req: SimulationRequest, models: Models) -> SimulationResult:
    """Race the field's best plans to the flag ``n_sims`` times (pace, tyre wear, fuel,
    traffic, SC/VSC) and return each car's finishing-position distribution."""
    return await asyncio.to_thread(simulation.simulate, req, models)
