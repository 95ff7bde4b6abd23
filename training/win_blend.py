"""How far the live win chances and positions should lean towards the settled order.

The Monte Carlo's finishing order scatters more than real races do. ``fit_settled_lean``
replays a season the lap-time model did not learn (every other lap of every race), with the
engine's own chances and positions, and picks the weights of ``strategy.settled_order``'s
lean that score best there, one for each tenth of the race (the Monte Carlo's scatter is not
the same early and late): the win Brier of every lap (each lap counting once) and the
finishing-position MAE. The other tables of the artifact have seen that season, so the
weights are measured on a replay a little kinder than a new season: they lean less than a
truly held-out fit would.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from strategy.artifacts import RaceModels
from strategy.decisions import best_plans, recommend, wet_plans
from strategy.pace import pace_curves
from strategy.plan_table import plans_for
from strategy.settled_order import lean, lean_win, settled_gaps, settled_ranks
from training.history import race_results
from training.race_replay import final_order
from training.race_states import RaceTimeline

GRID = np.round(np.linspace(0.0, 1.0, 21), 2)
EVERY = 2  # laps between the replayed states
TENTHS = 10  # the race in equal parts, a weight each
MIN_STATES = 20  # fewer states in a part: the whole race's weight
N_SIMS = 200


def _states(race: pd.DataFrame, models: RaceModels, final: dict[str, int]) -> list[dict]:
    """Every other lap of one race: the engine's chances and positions, the settled order,
    the outcome."""
    timeline = RaceTimeline(race)
    out = []
    for lap in range(1, int(race["laps_total"].iloc[0]), EVERY):
        state = timeline.state(lap)
        if state is None or not state.running():
            continue
        recs = recommend(state, models, n_sims=N_SIMS, seed=lap)
        cars = state.running()
        plans = plans_for(state, models, pace_curves(state, models))
        best = best_plans(plans, wet_plans(state, models))
        loss, share = models.pit_loss(state.circuit), models.pit_out_share(state.circuit)
        gaps = settled_gaps(state, best, loss, share)
        winner = min(final, key=final.get)
        out.append(
            {
                "tenth": min(int(10 * lap / int(race["laps_total"].iloc[0])), TENTHS - 1),
                "win": np.array([r.win_prob for r in recs]),
                "gaps": gaps,
                "won": np.array([d.driver == winner for d in cars], float),
                "median": np.array([r.predicted_position for r in recs], float),
                "ranks": settled_ranks(gaps),
                "final": np.array([final.get(d.driver, np.nan) for d in cars], float),
            }
        )
    return out


def _win_brier(rows: list[dict], w: float) -> float:
    return float(
        np.mean([np.sum((lean_win(r["win"], r["gaps"], w) - r["won"]) ** 2) for r in rows])
    )


def _position_mae(rows: list[dict], w: float) -> float:
    errs = [np.abs(np.round(lean(r["median"], r["ranks"], w)) - r["final"]) for r in rows]
    both = np.concatenate(errs)
    return float(np.nanmean(both))


def fit_settled_lean(
    models: RaceModels,
    laps: pd.DataFrame,
    data_dir: Path,
    step: Callable[[str], None] | None = None,
) -> dict:
    """The lean weights on ``laps`` (one season's races, not learnt by ``models``' lap-time
    model; ``models`` must not lean already), with the scores they were chosen on."""
    rows: list[dict] = []
    for race_id, race in laps.groupby("race_id", sort=False):
        first = race.iloc[0]
        final = final_order(race, race_results(data_dir, int(first["season"]), first["event"]))
        if not final:
            continue
        if step:
            step(f"settled-order lean: {race_id}")
        rows += _states(race, models, final)
    if not rows:
        return {"win": [0.0] * TENTHS, "position": [0.0] * TENTHS, "states": 0}
    win = _by_tenth(rows, _win_brier)
    pos = _by_tenth(rows, _position_mae)
    return {
        "win": win,
        "position": pos,
        "season": int(laps["season"].iloc[0]),
        "states": len(rows),
        "win_brier": {"engine": _win_brier(rows, 0.0), "leaning": _scored(rows, win, _win_brier)},
        "position_mae": {
            "engine": _position_mae(rows, 0.0),
            "leaning": _scored(rows, pos, _position_mae),
        },
    }


def _by_tenth(rows: list[dict], score: Callable[[list[dict], float], float]) -> list[float]:
    """The grid weight with the best ``score`` in each tenth of the race (the whole race's
    where a tenth has too few states)."""
    overall = float(min(GRID, key=lambda w: score(rows, w)))
    out = []
    for t in range(TENTHS):
        part = [r for r in rows if r["tenth"] == t]
        best = min(GRID, key=lambda w: score(part, w)) if len(part) >= MIN_STATES else overall
        out.append(float(best))
    return out


def _scored(rows: list[dict], weights: list[float], score) -> float:
    """``score`` over all rows, each tenth with its weight (state-weighted)."""
    parts = [[r for r in rows if r["tenth"] == t] for t in range(TENTHS)]
    total = sum(score(p, w) * len(p) for p, w in zip(parts, weights, strict=True) if p)
    return total / len(rows)
