"""Lap-time accuracy on races the model never saw, beside "the previous lap again"
(persistence) and an exponentially weighted mean of the car's recent clean laps (EWMA).

Scored laps are clean and within ``EVAL_BAND`` of the race's median clean lap (a slow zone or
a spin the flags did not show is not scored); the anchor and the lap predicted ``h`` laps
ahead both have to be scored laps. The band is a choice of what to score, the same for the
model and its baselines; the predictions use nothing beyond the anchor lap.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from strategy.artifacts import RaceModels
from strategy.fuel import FUEL_S_PER_LAP
from training.laptime import ahead_rows

EVAL_BAND = 0.07
HORIZONS = (1, 5)


def eval_clean(anchors: pd.DataFrame) -> pd.Series:
    """The anchor rows whose lap is scored (see the module docstring)."""
    med = anchors["race_id"].map(anchors[anchors["clean"]].groupby("race_id")["lap_time"].median())
    lt = anchors["lap_time"]
    return anchors["clean"] & (lt < med * (1 + EVAL_BAND)) & (lt > med * (1 - EVAL_BAND))


def lap_accuracy(anchors: pd.DataFrame, models: RaceModels, h: int) -> pd.DataFrame:
    """Predicted, persistence and EWMA lap times ``h`` laps ahead, on scored anchor/target laps."""
    a = anchors.copy()
    a["scored"] = eval_clean(a)
    raw = a["lap_time"].where(a["clean"])
    a["ewma"] = raw.groupby([a["race_id"], a["driver"], a["stint"]]).transform(
        lambda s: s.ewm(alpha=0.5, ignore_na=True).mean()
    )
    rows = ahead_rows(a, h)
    target_scored = a.groupby(["race_id", "driver"])["scored"].shift(-h)
    rows = rows[rows["scored"] & target_scored.reindex(rows.index).astype("boolean").fillna(False)]
    if models.laptime is not None:
        rows["pred"] = models.laptime.predict_rows(rows)
    else:  # priors: the car's pace, plus the fuel still to burn
        rows["pred"] = rows["ewm"] + FUEL_S_PER_LAP * rows["laps_remaining_at"] + h * 0.05
    rows["persistence"] = rows["lap_time"]
    return rows


def lap_scores(anchors: pd.DataFrame, models: Mapping[str, RaceModels]) -> dict:
    """Next-lap and 5-lap MAE of each race's model (``models`` by race id) and the baselines."""
    out = {}
    for h, key in zip(HORIZONS, ("next_lap_mae", "five_lap_mae"), strict=True):
        parts = [
            lap_accuracy(anchors[anchors["race_id"] == race_id], m, h)
            for race_id, m in models.items()
        ]
        rows = pd.concat(parts, ignore_index=True)
        err = {n: float((rows[n] - rows["target_lap_time"]).abs().mean()) for n in
               ("pred", "persistence", "ewma")}  # fmt: skip
        out[key] = {"model": err["pred"], "persistence": err["persistence"],
                    "ewma": err["ewma"], "laps": len(rows)}  # fmt: skip
    return out
