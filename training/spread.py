"""How far real laps fall from the lap-time model's expectation: the Monte Carlo's noise,
learned instead of set by hand.

The model (trained without the validation season) predicts each anchor's next
``HORIZON`` laps on the same set; a residual ``e_h`` = real - predicted, less what the field's
residuals share on that lap of that race (the track, the wind: it moves every car alike and
no car's place), is a persistent error of the car's pace (the same for every h: ``pace_sd``)
plus the lap's own noise (``lap_noise_sd``).
The noise is what two consecutive residuals do not share, ``sd(e_1 - e_2) / sqrt(2)``; the
pace error what the mean of the ``HORIZON`` residuals keeps beyond the noise,
``var(mean e) - noise^2 / HORIZON``. Robust spreads (1.4826 x the median absolute deviation),
so that a lap behind a backmarker or a spin does not set the noise of every lap.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from strategy.laptime import LapTimeModel
from training.lap_accuracy import eval_clean
from training.laptime import ahead_rows

HORIZON = 10


def _robust_sd(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    if len(x) < 20:
        return float("nan")
    return float(1.4826 * np.median(np.abs(x - np.median(x))))


def residuals(model: LapTimeModel, anchors: pd.DataFrame) -> pd.DataFrame:
    """[anchor, h] residual (real - predicted lap time, less the field's median residual on
    that lap) for h = 1..``HORIZON`` on scored laps."""
    a = anchors.copy()
    a["scored"] = eval_clean(a)
    target_ok = a.groupby(["race_id", "driver"])["scored"]
    cols = {}
    for h in range(1, HORIZON + 1):
        rows = ahead_rows(a, h)
        ok = target_ok.shift(-h).reindex(rows.index).astype("boolean").fillna(False)
        rows = rows[rows["scored"] & ok]
        if rows.empty:
            continue
        e = pd.Series(rows["target_lap_time"].to_numpy() - model.predict_rows(rows), rows.index)
        shared = e.groupby([rows["race_id"], rows["lap"] + h]).transform("median")
        cols[h] = e - shared
    return pd.DataFrame(cols)


def fit_spread(model: LapTimeModel, anchors: pd.DataFrame) -> dict[str, float]:
    """``lap_noise_sd`` and ``pace_sd`` (s) from the model's residuals on ``anchors`` (a
    season it was not trained on), with the counts they rest on."""
    e = residuals(model, anchors)
    full = e.dropna()
    noise = _robust_sd((e[1] - e[2]).to_numpy()) / math.sqrt(2)
    mean_sd = _robust_sd(full.mean(axis=1).to_numpy())
    pace = math.sqrt(max(mean_sd**2 - noise**2 / HORIZON, 0.0))
    return {
        "lap_noise_sd": round(noise, 4),
        "pace_sd": round(pace, 4),
        "anchors": len(full),
        "horizon": HORIZON,
    }
