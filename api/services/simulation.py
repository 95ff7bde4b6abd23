"""The Monte Carlo race simulator and the decision engine on a posted race state: the field's
finishing-position distributions, every car's advice, and one driver's plans compared."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from api.models import (
    CompareRequest,
    CompareResult,
    DriverOutcome,
    OptimalRequest,
    OptimalResult,
    PlanOutcome,
    SimulationRequest,
    SimulationResult,
)
from api.services.errors import Invalid
from schemas.derived import DriverStrategy

if TYPE_CHECKING:
    from strategy.artifacts import RaceModels
    from strategy.race_state import RaceState


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def simulate(req: SimulationRequest, models: RaceModels) -> SimulationResult:
    """Race the field's best plans to the flag ``n_sims`` times."""
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
    return SimulationResult(
        n_sims=req.n_sims,
        compute_ms=_ms_since(started),
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


async def optimal(req: OptimalRequest, models: RaceModels) -> OptimalResult:
    """The decision engine's advice (plus the Monte Carlo) for every running car."""
    from strategy.decisions import recommend

    state = req.state.to_state()
    started = time.perf_counter()
    if not state.running():  # every car retired: no strategy to advise
        return OptimalResult(compute_ms=0.0, model_version=models.version, recommendations=[])
    advice = await asyncio.to_thread(recommend, state, models, req.n_sims, req.seed)
    recs = [DriverStrategy.model_validate(a.as_dict()) for a in advice]
    return OptimalResult(
        compute_ms=_ms_since(started), model_version=models.version, recommendations=recs
    )


def _driver_index(req: CompareRequest, state: RaceState) -> int:
    """The running car whose plans are compared; ``Invalid`` for a driver not running or a
    plan whose stops are not on increasing laps still to run."""
    names = [d.driver for d in state.running()]
    driver = req.driver.upper()
    if driver not in names:
        raise Invalid(
            f"driver {req.driver!r} is not a running car of the state ({', '.join(names)})"
        )
    for plan in req.plans:
        laps = [s.lap for s in plan]
        if laps != sorted(laps) or len(set(laps)) != len(laps):
            raise Invalid("stops of a plan must be on increasing laps")
        for stop in plan:
            if not state.lap < stop.lap < state.laps_total:
                raise Invalid(
                    f"stop on lap {stop.lap} is outside the laps still to run "
                    f"({state.lap + 1}-{state.laps_total - 1})"
                )
    return names.index(driver)


def _race_plans(
    req: CompareRequest, state: RaceState, index: int, models: RaceModels
) -> CompareResult:
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
        compute_ms=_ms_since(started),
        best_index=best,
        outcomes=outcomes,
    )


async def compare_plans(req: CompareRequest, models: RaceModels) -> CompareResult:
    """Each candidate plan of one driver raced against the field's best plans (the same random
    numbers for every candidate, so differences are the plans', not the noise's)."""
    state = req.state.to_state()
    index = _driver_index(req, state)
    return await asyncio.to_thread(_race_plans, req, state, index, models)
