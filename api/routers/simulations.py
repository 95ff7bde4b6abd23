"""The Monte Carlo race simulator on a posted race state."""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter

from api.deps import Models
from api.models import DriverOutcome, SimulationRequest, SimulationResult

router = APIRouter(prefix="/simulations", tags=["simulations"])


@router.post("/race", response_model=SimulationResult, summary="Simulate the rest of a race")
async def simulate_race(req: SimulationRequest, models: Models) -> SimulationResult:
    """Race the field's best plans to the flag ``n_sims`` times (pace, tyre wear, fuel,
    traffic, SC/VSC) and return each car's finishing-position distribution."""
    return await asyncio.to_thread(_simulate, req, models)


def _simulate(req: SimulationRequest, models) -> SimulationResult:
    from strategy.plan_table import plans_for
    from strategy.simulation import simulate_state

    state = req.state.to_state()
    started = time.perf_counter()
    if not state.running():  # every car retired: nobody left to race (not a crash)
        return SimulationResult(
            n_sims=req.n_sims, compute_ms=0.0, model_version=models.version, drivers=[]
        )
    plans = [p.best[1] for p in plans_for(state, models)]
    seed = req.seed if req.seed is not None else int(time.time_ns() % 2**31)
    result = simulate_state(state, models, plans, req.n_sims, seed)
    dist = result.position_distribution()
    win, podium, expected = result.win_prob(), result.podium_prob(), result.expected_position()
    points = (result.positions <= 10).mean(axis=0)
    elapsed = (time.perf_counter() - started) * 1000
    return SimulationResult(
        n_sims=req.n_sims,
        compute_ms=round(elapsed, 2),
        model_version=models.version,
        drivers=[
            DriverOutcome(
                driver=d.driver,
                position=d.position,
                win_prob=round(float(win[i]), 4),
                podium_prob=round(float(podium[i]), 4),
                points_prob=round(float(points[i]), 4),
                expected_position=round(float(expected[i]), 3),
                position_distribution=[round(float(p), 4) for p in dist[i]],
                plan=[(int(lap), str(c)) for lap, c in plans[i]],
            )
            for i, d in enumerate(state.running())
        ],
    )
