"""Strategy: the decision engine's advice for a race state, and plans compared head to head."""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter, HTTPException

from api.deps import Models
from api.models import (
    CompareRequest,
    CompareResult,
    OptimalRequest,
    OptimalResult,
    PlanOutcome,
)

router = APIRouter(prefix="/strategies", tags=["strategies"])


@router.post("/optimal", response_model=OptimalResult, summary="Best strategy for every car")
async def optimal(req: OptimalRequest, models: Models) -> OptimalResult:
    """Pit window, recommended compound, undercut/overcut threats and win/podium chances for
    every running car, from the decision engine plus the Monte Carlo."""
    from strategy.decisions import recommend

    state = req.state.to_state()
    started = time.perf_counter()
    if not state.running():  # every car retired: no strategy to advise
        return OptimalResult(compute_ms=0.0, model_version=models.version, recommendations=[])
    recs = await asyncio.to_thread(recommend, state, models, req.n_sims, req.seed)
    return OptimalResult(
        compute_ms=round((time.perf_counter() - started) * 1000, 2),
        model_version=models.version,
        recommendations=recs,
    )


@router.post("/compare", response_model=CompareResult, summary="Compare plans of one driver")
async def compare(req: CompareRequest, models: Models) -> CompareResult:
    """Race each candidate plan of one driver against the field's best plans (same random
    numbers for every candidate, so differences are the plans', not the noise's)."""
    state = req.state.to_state()
    running = state.running()
    names = [d.driver for d in running]
    driver = req.driver.upper()
    if driver not in names:
        raise HTTPException(
            422, f"driver {req.driver!r} is not a running car of the state ({', '.join(names)})"
        )
    for plan in req.plans:
        laps = [s.lap for s in plan]
        if laps != sorted(laps) or len(set(laps)) != len(laps):
            raise HTTPException(422, "stops of a plan must be on increasing laps")
        for stop in plan:
            if not state.lap < stop.lap < state.laps_total:
                raise HTTPException(
                    422,
                    f"stop on lap {stop.lap} is outside the laps still to run "
                    f"({state.lap + 1}-{state.laps_total - 1})",
                )
    return await asyncio.to_thread(_compare, req, state, names.index(driver), models)


def _compare(req: CompareRequest, state, index: int, models) -> CompareResult:
    from strategy.plan_table import plans_for
    from strategy.simulation import simulate_state

    started = time.perf_counter()
    base = [p.best[1] for p in plans_for(state, models)]
    outcomes = []
    for plan in req.plans:
        plans = list(base)
        plans[index] = tuple((s.lap, s.compound) for s in plan)
        result = simulate_state(state, models, plans, req.n_sims, req.seed or 0)
        dist = result.position_distribution()[index]
        outcomes.append(
            PlanOutcome(
                plan=plan,
                win_prob=round(float(result.win_prob()[index]), 4),
                podium_prob=round(float(result.podium_prob()[index]), 4),
                expected_position=round(float(result.expected_position()[index]), 3),
                position_distribution=[round(float(p), 4) for p in dist],
            )
        )
    best = min(range(len(outcomes)), key=lambda i: outcomes[i].expected_position)
    return CompareResult(
        driver=state.running()[index].driver,
        compute_ms=round((time.perf_counter() - started) * 1000, 2),
        best_index=best,
        outcomes=outcomes,
    )
