"""Readying the race models before the first what-if question: the dashboard's first visit to
an API process loads them in the background and races a small field once (the simulator's
compiled code and its threads start on the first race), so the planner's first answer does
not wait for either (seconds on a busy machine; each answer after takes a fraction of one).
"""

from __future__ import annotations

import asyncio
import logging

from api.models import DriverStateIn, RaceStateIn, SimulationRequest
from api.resources import Resources
from api.services import simulation

log = logging.getLogger(__name__)
TASK = "warm-race-models"


def warm_models(res: Resources) -> None:
    """Start loading the race models unless they are loading or loaded (returns at once)."""
    if any(t.get_name() == TASK for t in res.background):
        return

    async def load() -> None:
        try:
            models = await res.models()
            await asyncio.to_thread(simulation.simulate, _small_race(), models)
        except Exception as exc:  # no trained model: the planner says so when asked
            log.info("race models not readied ahead: %s", exc)

    task = asyncio.create_task(load(), name=TASK)
    res.background.add(task)


def _small_race() -> SimulationRequest:
    """Three cars half-way through a race: enough to run every part of the simulator."""
    cars = [
        DriverStateIn(
            driver=d, position=k, gap_to_leader=2.0 * (k - 1), compound="MEDIUM", tyre_age=10
        )
        for k, d in enumerate(("AAA", "BBB", "CCC"), start=1)
    ]
    state = RaceStateIn(circuit="bahrain", lap=20, laps_total=57, drivers=cars)
    return SimulationRequest(state=state, n_sims=100, seed=0)
