"""Back-testing the race model on races it never saw, every figure beside its naive baseline.

:func:`run_backtest` replays each race of a lap table lap by lap through the same code the
worker runs (``training.race_replay``) and scores, against baselines built only from the
seasons before (``history``, ``training.habits``):

- lap times: next-lap and 5-laps-ahead MAE on green laps, against the previous lap
  (persistence) and an exponentially weighted mean of recent clean laps (EWMA);
- strategy: the stop count and compound sequence advised after ``STRATEGY_LAP`` against what
  the finishers did, beside the circuit's habit and "one stop";
- box calls: "box this lap" on every green car-lap against the real in-laps (within one
  lap), beside the tyre-age rule, and the planned stop lap 5 and 10 laps before each stop;
- rejoin: the projected place of every green-flag stop against the place at the end of the
  out-lap, beside "the place it had";
- outcomes: win Brier on every lap, per tenth and at 25/50/75% against "the leader wins",
  podium Brier, win ECE, the finishing-position MAE against "the order now", and the largest
  fall of the winner's win chance across his green-flag stops;
- wet races: the lap the engine first calls a change of tyre family against the top 10.

``walk_forward``: race k learns from races 1..k-1 of the same table (never from itself or
later): more boosting rounds of the lap-time model, the teams' wear refitted, the teams'
reliability tables brought up to that race. Evaluate on seasons or races held out of
training, never on laps.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from strategy.artifacts import RaceModels
from training.backtest_scores import (
    box_call_scores,
    position_scores,
    rejoin_scores,
    strategy_scores,
    win_scores,
)
from training.habits import StrategyHabits
from training.history import race_results
from training.lap_accuracy import lap_scores
from training.laptime import anchor_table, circuit_codes, extend_model
from training.plan_prior import fit_plan_prior
from training.race_replay import RaceRecord, final_order, replay_race
from training.tyre_life import fit_tyre_life
from training.wet.backtest import crossover_lap_error

Progress = Callable[[str], None]


def race_order(laps: pd.DataFrame) -> list[str]:
    """The races of a lap table in calendar order."""
    firsts = laps.groupby("race_id")[["season", "round"]].first()
    return firsts.sort_values(["season", "round"]).index.tolist()


def _learnt(
    models: RaceModels, earlier: pd.DataFrame, history: pd.DataFrame, as_of: Callable | None
) -> RaceModels:
    """``models`` having learnt the races ``earlier`` of the season evaluated: more rounds of
    the lap-time model, the tyre lives and the plan prior refitted with them as the latest
    season (after the seasons of ``history``), and (``as_of``) the teams' reliability tables
    up to the next race."""
    assert models.laptime is not None
    laptime = extend_model(models.laptime, earlier)
    both = pd.concat([history, earlier], ignore_index=True)
    upcoming = int(earlier["season"].max()) + 1
    lives, habits = fit_tyre_life(both, upcoming), fit_plan_prior(both, upcoming)
    fitted = as_of(models.fitted) if as_of is not None and models.fitted else models.fitted
    return replace(models, laptime=laptime, tyre_life=lives, plan_prior=habits, fitted=fitted)


def replay_races(
    laps: pd.DataFrame,
    models: RaceModels,
    data_dir: Path,
    habits: StrategyHabits,
    n_sims: int = 500,
    walk_forward: Callable[[RaceModels, list[str], str], RaceModels] | None = None,
    progress: Progress | None = None,
    per_car: bool = True,
) -> tuple[list[RaceRecord], dict[str, RaceModels]]:
    """Every race of ``laps`` replayed (in calendar order); the models each race saw.
    ``per_car``: each car's advice at its own crossings too (``replay_race``)."""
    records, seen = [], {}
    order = race_order(laps)
    for k, race_id in enumerate(order):
        if progress:
            progress(race_id)
        race_models = walk_forward(models, order[:k], race_id) if walk_forward and k else models
        seen[race_id] = race_models
        race = laps[laps["race_id"] == race_id]
        first = race.iloc[0]
        final = final_order(race, race_results(data_dir, int(first["season"]), first["event"]))
        records.append(replay_race(race, race_models, habits, final, n_sims, per_car=per_car))
    return records, seen


def run_backtest(
    laps: pd.DataFrame,
    models: RaceModels,
    data_dir: Path,
    history: pd.DataFrame | None = None,
    n_sims: int = 500,
    walk_forward: bool = False,
    progress: Progress | None = None,
    as_of: Callable[[Any, str], Any] | None = None,
) -> dict[str, Any]:
    """Replay every race of ``laps`` and score the model beside its baselines (see the module
    docstring); ``history``: lap tables of the seasons before (the baselines' source, and the
    wet back-test's dry references). ``as_of(fitted, race_id)``: the fitted hazards as known
    before that race (walk-forward)."""
    season = int(laps["season"].min())
    history = history if history is not None else laps.iloc[:0]
    habits = StrategyHabits.fit(history, season)
    circuits = circuit_codes(laps, models.laptime.circuits if models.laptime else None)
    anchors = anchor_table(laps, circuits)
    wf = None
    if walk_forward and models.laptime is not None:

        def wf(m: RaceModels, before: list[str], race_id: str) -> RaceModels:
            hazards_as_of = (lambda f: as_of(f, race_id)) if as_of else None
            return _learnt(m, laps[laps["race_id"].isin(before)], history, hazards_as_of)

    records, seen = replay_races(laps, models, data_dir, habits, n_sims, wf, progress)
    strategy = strategy_scores(records)
    rejoin = rejoin_scores(records)
    wins = win_scores(records)
    crossover = crossover_lap_error(laps, models.pit_loss, history=history)
    out: dict[str, Any] = {"races": [r.race_id for r in records], "walk_forward": walk_forward}
    out.update(lap_scores(anchors, seen))
    out["stops_match"] = strategy["stops_match"].pop("model")
    out["sequence_top3"] = strategy["sequence_top3"].pop("model")
    out["rejoin_within_1"] = rejoin.pop("model")
    out["rejoin_mae"] = rejoin.pop("mae")
    out["crossover_lap_error"] = crossover.pop("model")
    out["position_mae"] = position_scores(records)
    out.update(wins)
    out["box_calls"] = box_call_scores(records)
    out["baselines"] = {
        "stops_match": strategy["stops_match"],
        "sequence_top3": strategy["sequence_top3"],
        "rejoin_within_1": {"place_held": rejoin.pop("place_held")},
        "crossover_lap_error": {k: v for k, v in crossover.items() if k != "episodes"},
    }
    out["crossover_episodes"] = crossover["episodes"]
    out["counts"] = {
        "strategy_drivers": strategy["drivers"],
        "rejoin_stops": rejoin["stops"],
        "box_call_stops": out["box_calls"]["stops"],
        "pit_cycle_drops": out.pop("pit_cycle_drops"),
    }
    return _rounded(out)


def _rounded(x: Any) -> Any:
    """NaN -> None and floats to 4 decimals, through dicts and lists (for JSON)."""
    if isinstance(x, dict):
        return {str(k): _rounded(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_rounded(v) for v in x]
    if isinstance(x, float):
        return None if math.isnan(x) else round(x, 4)
    return x
