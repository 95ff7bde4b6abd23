"""The race model: pure computation over numpy arrays, no Kafka, database or HTTP.

Lap-time and tyre-degradation models (LightGBM and an online Bayesian slope), pit loss and
SC/VSC hazard per circuit, the numba Monte Carlo race simulator and the decision engine that
turns a race state into pit windows and probabilities. The stream worker and the API call it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from strategy.artifacts import RaceModels


def warmup(models: RaceModels | None = None) -> None:
    """Compile (or load from numba's cache) the simulator kernels, serial and parallel."""
    from strategy.artifacts import RaceModels
    from strategy.decisions import recommend
    from strategy.montecarlo import PARALLEL_MIN_SIMS
    from strategy.race_state import DriverState, RaceState
    from strategy.simulation import simulate_state

    cars = [
        DriverState(f"D{i:02d}", i + 1, i * 1.5, "MEDIUM", 10, pace=95.0 + 0.1 * i)
        for i in range(20)
    ]
    state = RaceState("warmup", "bahrain", 2023, 10, 57, "green", cars)
    models = models or RaceModels()
    recommend(state, models, n_sims=64, seed=0)
    state.lap = state.laps_total - 2
    simulate_state(state, models, n_sims=PARALLEL_MIN_SIMS, seed=0)
