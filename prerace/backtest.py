"""Walk-forward evaluation: each race of a season predicted by a model trained only on the
races before it (earlier seasons and the season's earlier rounds), then scored.

Baselines come from the same rows, so from the same history before each race: the
grid-slot rate and "pole wins" after qualifying, climatology before it (``baselines.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from prerace import baselines
from prerace.metrics import score_races, summarize
from prerace.model import ModelConfig, WinnerModel


@dataclass
class BacktestResult:
    """Per-driver predictions, per-race scores and season summaries of one moment."""

    season: int
    moment: str
    predictions: pd.DataFrame  # race_id, driver_id, position, p_win, p_podium, base_*, grid
    per_race: dict[str, pd.DataFrame] = field(default_factory=dict)
    summary: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    baseline_name: str = "grid_baseline"

    @property
    def races(self) -> int:
        return int(self.predictions["race_id"].nunique())


def race_order(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per race (``race_id``, ``season``, ``round``) in calendar order."""
    return (
        rows[["race_id", "season", "round"]]
        .drop_duplicates("race_id")
        .sort_values(["season", "round"])
        .reset_index(drop=True)
    )


def walk_forward(
    rows: pd.DataFrame,
    season: int,
    config: ModelConfig,
    progress: Callable[[str], None] | None = None,
    races: list[int] | None = None,
) -> BacktestResult:
    """Predict and score every race of ``season`` that has results (or only ``races``)."""
    done = rows[rows["win"].notna()]
    if config.moment == "post":
        done = done[done["grid_known"].astype(bool)]
    order = race_order(done)
    targets = order[order["season"] == season]
    if races is not None:
        targets = targets[targets["race_id"].isin(races)]
    if targets.empty:
        raise ValueError(f"no race of {season} with results to evaluate")
    preds = []
    for race in targets.itertuples(index=False):
        before = order[
            (order["season"] < race.season)
            | ((order["season"] == race.season) & (order["round"] < race.round))
        ]
        train = done[done["race_id"].isin(before["race_id"])]
        model = WinnerModel(config).fit(train)
        these = done[done["race_id"] == race.race_id]
        p = model.predict(these)
        p["position"] = these["position"].to_numpy()
        p["grid"] = these["grid"].to_numpy()
        base = (
            baselines.grid_slot(these) if config.moment == "post" else baselines.climatology(these)
        )
        p["base_win"], p["base_podium"] = base["p_win"].to_numpy(), base["p_podium"].to_numpy()
        p["model_version"] = model.version
        preds.append(p)
        if progress:
            progress(f"{race.season} round {race.round}")
    predictions = pd.concat(preds, ignore_index=True)
    return score(predictions, season, config.moment)


def score(predictions: pd.DataFrame, season: int, moment: str) -> BacktestResult:
    """Per-race scores and summaries of walk-forward predictions."""
    name = "grid_baseline" if moment == "post" else "climatology"
    per_race = {
        "model": score_races(predictions),
        name: score_races(predictions, "base_win", "base_podium"),
    }
    if moment == "post":
        pole = predictions.assign(pole=(predictions["grid"] == 1).astype(float))
        per_race["pole_wins"] = score_races(pole, "pole", None)[["race_id", "top1"]]
    result = BacktestResult(season, moment, predictions, per_race, baseline_name=name)
    result.summary = {k: summarize(v) for k, v in per_race.items()}
    return result
