"""Scores of race predictions, per race and over a season with bootstrap intervals.

Per race: **win Brier** is the mean over the race's drivers of (p_win - won)^2
(``strategy.calibration.brier``, as in the in-race back-test); **win log-loss** is -ln of
the chance given to the actual winner (the race's win chances sum to 1, so this is the
multinomial log-loss; chances are clipped to 1e-4); **top1** is 1 when the driver with the
highest chance won (with ties, the share of the tied drivers who won: what a fair draw among
them would score); **podium Brier** is the mean over drivers of (p_podium - on_podium)^2;
**top3** is the share of the actual podium found among the three highest podium chances.
Season figures are means over races; 95% intervals come from resampling races (bootstrap,
2,000 draws, fixed seed).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from strategy.calibration import brier

METRICS = ("win_brier", "win_log_loss", "top1", "podium_brier", "top3")
CLIP = 1e-4


def race_scores(
    p_win: np.ndarray,
    p_podium: np.ndarray | None,
    position: np.ndarray,
) -> dict[str, float]:
    """The five scores of one race (``position`` NaN when not classified)."""
    pos = np.asarray(position, dtype=float)
    won = pos == 1
    podium = pos <= 3
    p_win = np.asarray(p_win, dtype=float)
    out = {
        "win_brier": brier(p_win, won),
        "win_log_loss": float(-np.log(np.clip(p_win[won], CLIP, 1.0)).sum())
        if won.any()
        else np.nan,
        "top1": float(won[p_win >= p_win.max() - 1e-12].mean()),  # ties: a fair draw
    }
    if p_podium is None:
        out["podium_brier"] = out["top3"] = np.nan
    else:
        p_podium = np.asarray(p_podium, dtype=float)
        out["podium_brier"] = brier(p_podium, podium)
        top = np.argsort(-p_podium, kind="mergesort")[:3]
        out["top3"] = float(podium[top].sum() / max(1, min(3, podium.sum())))
    return out


def score_races(
    preds: pd.DataFrame, win: str = "p_win", podium: str | None = "p_podium"
) -> pd.DataFrame:
    """One row of scores per ``race_id`` of ``preds`` (needs ``position``)."""
    rows = []
    for race_id, g in preds.groupby("race_id", sort=False):
        s = race_scores(g[win].to_numpy(), g[podium].to_numpy() if podium else None, g["position"])
        rows.append({"race_id": race_id, **s})
    return pd.DataFrame(rows)


def summarize(
    per_race: pd.DataFrame, n_boot: int = 2000, seed: int = 0
) -> dict[str, dict[str, float]]:
    """Mean of each metric over races and its 95% bootstrap interval (``lo``, ``hi``)."""
    rng = np.random.default_rng(seed)
    n = len(per_race)
    draws = rng.integers(0, n, size=(n_boot, n)) if n else np.zeros((0, 0), dtype=int)
    out: dict[str, dict[str, float]] = {}
    for m in METRICS:
        if m not in per_race:
            continue
        v = per_race[m].to_numpy(float)
        if n == 0 or np.isnan(v).all():
            continue
        means = np.nanmean(v[draws], axis=1)
        out[m] = {
            "mean": float(np.nanmean(v)),
            "lo": float(np.percentile(means, 2.5)),
            "hi": float(np.percentile(means, 97.5)),
        }
    return out


def paired_difference(
    a: pd.DataFrame, b: pd.DataFrame, metric: str, n_boot: int = 2000, seed: int = 0
) -> dict[str, float]:
    """Mean of ``a - b`` over the same races with its 95% bootstrap interval (races drawn
    together for both, so the interval is of the difference, not of two overlapping means)."""
    m = a[["race_id", metric]].merge(b[["race_id", metric]], on="race_id", suffixes=("_a", "_b"))
    d = (m[f"{metric}_a"] - m[f"{metric}_b"]).to_numpy(float)
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, len(d), size=(n_boot, len(d)))].mean(axis=1)
    return {
        "mean": float(d.mean()),
        "lo": float(np.percentile(means, 2.5)),
        "hi": float(np.percentile(means, 97.5)),
    }
