"""Walk-forward evaluation: each race of the chosen seasons predicted by a model trained only on
the races before it (earlier seasons and the season's earlier rounds), then scored beside the
baselines of the same rows (``baselines.FOR_MOMENT``), season by season and pooled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from prerace import baselines
from prerace.metrics import paired_difference, score_races, summarize
from prerace.model import ModelConfig, WinnerModel

Summary = dict[str, dict[str, float]]


@dataclass
class BacktestResult:
    """Per-driver predictions and per-race scores of the model and the baselines."""

    moment: str
    predictions: pd.DataFrame  # race_id, season, round, driver_id, position, grid, p_win, ...
    per_race: dict[str, pd.DataFrame] = field(default_factory=dict)  # name -> race scores

    @property
    def contained(self) -> str:
        """The baseline the model starts from (grid slot after qualifying, ...)."""
        return baselines.CONTAINED[self.moment]

    @property
    def seasons(self) -> list[int]:
        return sorted(self.per_race["model"]["season"].unique().tolist())

    @property
    def races(self) -> int:
        return len(self.per_race["model"])

    def scores(self, season: int | None = None) -> dict[str, pd.DataFrame]:
        """The per-race scores of every forecast, of one season (None: all)."""
        if season is None:
            return self.per_race
        return {k: v[v["season"] == season] for k, v in self.per_race.items()}

    def summary(self, season: int | None = None) -> dict[str, Summary]:
        """Means and 95% bootstrap intervals (races resampled) of every forecast."""
        return {k: summarize(v) for k, v in self.scores(season).items()}

    def versus(self, baseline: str, metric: str, season: int | None = None) -> dict[str, float]:
        """Model minus ``baseline`` over the same resampled races (``paired_difference``)."""
        s = self.scores(season)
        return paired_difference(s["model"], s[baseline], metric)

    def checks(self) -> list[Check]:
        """What the model must show against its baselines (``REQUIRED``), each judged here.

        Pooled: the model's mean below the baseline's (top 1: at least the baseline's). Per
        season (``per_season``): the model no worse than the baseline beyond the season's
        bootstrap interval, i.e. the interval of model minus baseline reaches 0 or below.
        """
        out = []
        for metric, baseline, per_season in REQUIRED[self.moment]:
            if per_season:
                for season in self.seasons:
                    d = self.versus(baseline, metric, season)
                    out.append(Check(metric, baseline, season, d["mean"], d["lo"] <= 0, d))
                continue
            d = self.versus(baseline, metric)
            ok = d["mean"] >= 0 if metric == "top1" else d["mean"] < 0
            out.append(Check(metric, baseline, None, d["mean"], ok, d))
        return out


@dataclass(frozen=True)
class Check:
    """One of ``REQUIRED``: the model minus ``baseline`` on ``metric`` (a season's or pooled,
    with its 95% interval) and whether it passes."""

    metric: str
    baseline: str
    season: int | None
    difference: float
    passed: bool
    interval: dict[str, float]

    def describe(self) -> str:
        where = "pooled" if self.season is None else str(self.season)
        if self.season is not None:
            rule = "not worse beyond the season's interval"
        else:
            rule = "at least" if self.metric == "top1" else "below"
        i = self.interval
        return (
            f"{where}: {self.metric} {rule} {self.baseline}: model - {self.baseline} "
            f"{i['mean']:+.4f} [{i['lo']:+.4f}, {i['hi']:+.4f}]"
        )


#: (metric, baseline, judged per season) the model must show, per moment (issue 38): after
#: qualifying against the grid slot it contains and "pole wins"; before it against the
#: championship order it contains and climatology.
REQUIRED: dict[str, list[tuple[str, str, bool]]] = {
    "post": [
        ("win_brier", "grid_slot", False),
        ("win_log_loss", "grid_slot", False),
        ("win_brier", "grid_slot", True),
        ("win_log_loss", "grid_slot", True),
        ("top1", "pole_wins", False),
        ("podium_brier", "grid_slot", False),
    ],
    "pre": [
        ("win_brier", "championship", False),
        ("win_log_loss", "championship", False),
        ("win_brier", "climatology", False),
        ("win_log_loss", "climatology", False),
    ],
}


def race_order(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per race (``race_id``, ``season``, ``round``) in calendar order."""
    return (
        rows[["race_id", "season", "round"]]
        .drop_duplicates("race_id")
        .sort_values(["season", "round"])
        .reset_index(drop=True)
    )


def finished(rows: pd.DataFrame, moment: str) -> pd.DataFrame:
    """The rows of races run (and, after qualifying, with a known grid)."""
    done = rows[rows["win"].notna()]
    if moment == "post":
        done = done[done["grid_known"].astype(bool)]
    return done


def walk_forward(
    rows: pd.DataFrame,
    seasons: int | Iterable[int],
    config: ModelConfig,
    progress: Callable[[str], None] | None = None,
    races: list[int] | None = None,
) -> BacktestResult:
    """Predict and score every race of ``seasons`` that has results (or only ``races``)."""
    wanted = [seasons] if isinstance(seasons, int) else list(seasons)
    done = finished(rows, config.moment)
    order = race_order(done)
    targets = order[order["season"].isin(wanted)]
    if races is not None:
        targets = targets[targets["race_id"].isin(races)]
    if targets.empty:
        raise ValueError(f"no race of {wanted} with results to evaluate")
    position = {rid: i for i, rid in enumerate(order["race_id"])}
    by_race = dict(tuple(done.groupby("race_id")))
    preds = []
    for race in targets.itertuples(index=False):
        before = order["race_id"].iloc[: position[race.race_id]]
        model = WinnerModel(config).fit(done[done["race_id"].isin(before)])
        preds.append(predict_with_baselines(model, by_race[race.race_id]))
        if progress:
            progress(f"{race.season} round {race.round}")
    return score(pd.concat(preds, ignore_index=True), config.moment)


def predict_with_baselines(model: WinnerModel, these: pd.DataFrame) -> pd.DataFrame:
    """A race's chances from ``model`` beside every baseline's of its moment
    (``<name>_win``, ``<name>_podium``), with the race's result where it is known."""
    p = model.predict(these)
    for col in ("season", "round", "position", "grid"):
        p[col] = these[col].to_numpy()
    for name, forecast in baselines.FOR_MOMENT[model.config.moment].items():
        b = forecast(these)
        p[f"{name}_win"], p[f"{name}_podium"] = b["p_win"].to_numpy(), b["p_podium"].to_numpy()
    p["model_version"] = model.version
    return p


def score(predictions: pd.DataFrame, moment: str) -> BacktestResult:
    """Per-race scores of the model and of every baseline of ``moment``."""
    season = predictions.drop_duplicates("race_id").set_index("race_id")["season"]
    per_race = {"model": score_races(predictions)}
    for name in baselines.FOR_MOMENT[moment]:
        podium = None if name in baselines.TOP1_ONLY else f"{name}_podium"
        per_race[name] = score_races(predictions, f"{name}_win", podium)
        if name in baselines.TOP1_ONLY:
            per_race[name] = per_race[name][["race_id", "top1"]]
    for frame in per_race.values():
        frame["season"] = frame["race_id"].map(season).to_numpy(dtype=np.int64)
    return BacktestResult(moment, predictions, per_race)
