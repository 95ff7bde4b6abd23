"""How hard the tyres wear at each circuit, as the teams' stops reveal it.

Lap times show tyre wear only as far as teams run their sets: stints end before the drop-off
they fear, so the wear measured within stints understates what a longer stint would cost, and
a plan table built on it stops too rarely (on 2023, one stop where teams made two, a third of
the time). The wear the teams act on is learnt from what they did: for each circuit of the
latest seasons (tyres and cars change), the multiplier of the measured wear under which the
plan table, at lap ``STRATEGY_LAP`` of every dry race, recommends the stop counts the finishers
made most often; circuits with few races lean on the all-circuit multiplier.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd

from strategy.artifacts import RaceModels
from strategy.compounds import DRY
from strategy.plan_table import plans_for
from training.laptime import race_cars
from training.race_states import state_at

SCALES = (0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.1, 2.5)
STRATEGY_LAP = 5
PRIOR_RACES = 4.0  # weight of the all-circuit score, in races
MIN_RACES = 2  # races a circuit needs in the window for a multiplier of its own


def _matches(race: pd.DataFrame, models: RaceModels) -> dict[float, tuple[int, int]]:
    """Per multiplier: (stop counts matched, drivers scored) in one dry race."""

    total = int(race["laps_total"].iloc[0])
    state = state_at(race, race_cars(race), STRATEGY_LAP)
    out: dict[float, tuple[int, int]] = {}
    if state is None:
        return out
    actual = {}
    for d in state.running():
        stints = race[race["driver"] == d.driver].sort_values("lap")
        seq = tuple(stints.groupby("stint", sort=True)["compound"].first())
        if stints["lap"].max() >= total - 1 and all(c in DRY for c in seq):
            actual[d.driver] = len(seq) - 1
    if not actual:
        return out
    for scale in SCALES:
        scaled = replace(models, wear_scale={models.key(state.circuit): scale}, laptime=None)
        hits = sum(
            d.stops + len(p.best[1]) == actual[d.driver]
            for d, p in zip(state.running(), plans_for(state, scaled), strict=True)
            if d.driver in actual
        )
        out[scale] = (hits, len(actual))
    return out


def fit_wear_scale(
    laps: pd.DataFrame,
    models: RaceModels,
    progress: Callable[[str], None] | None = None,
) -> dict[str, float]:
    """Circuit -> wear multiplier (and ``"_all"``: the all-circuit one) from dry races."""
    per_circuit: dict[str, dict[float, list[int]]] = defaultdict(
        lambda: defaultdict(lambda: [0, 0])
    )
    races: dict[str, int] = defaultdict(int)
    for race_id, race in laps.groupby("race_id"):
        if race["sprint"].any() or race["compound"].isin(DRY).mean() <= 0.9:
            continue
        if progress:
            progress(str(race_id))
        circuit = models.key(str(race["circuit"].iloc[0]))
        scored = _matches(race, models)
        if scored:
            races[circuit] += 1
        for scale, (hits, n) in scored.items():
            per_circuit[circuit][scale][0] += hits
            per_circuit[circuit][scale][1] += n
    total = {s: sum(per_circuit[c][s][0] for c in per_circuit) for s in SCALES}
    drivers = sum(per_circuit[c][SCALES[0]][1] for c in per_circuit) or 1
    best_all = max(SCALES, key=lambda s: (total[s], -abs(s - 1.0)))
    out: dict[str, float] = {"_all": best_all}
    for circuit, scores in per_circuit.items():
        if races[circuit] < MIN_RACES:
            continue  # the all-circuit multiplier
        n = scores[SCALES[0]][1] or 1
        # the circuit's match rate, with PRIOR_RACES races' worth of the all-circuit rate
        prior = PRIOR_RACES * n / max(races[circuit], 1)
        value = {s: (scores[s][0] + prior * total[s] / drivers) / (n + prior) for s in SCALES}
        out[circuit] = max(SCALES, key=lambda s, v=value: (round(v[s], 6), -abs(s - best_all)))
    return {k: float(np.round(v, 2)) for k, v in out.items()}
