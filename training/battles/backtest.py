"""Fitting the battle forecast on some seasons and measuring it on another, beside a
gap-only baseline and the base rate computed in the same run."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from strategy.battles.history import HORIZONS, outcome, pair_frame
from strategy.battles.model import MAX_GAP_S, BattleModel, pair_features
from training.battles.fit import fit


def gap_baseline(pairs: pd.DataFrame, horizon: int) -> object:
    """The gap-only baseline: P(pass) as a non-increasing function of the gap (isotonic)."""
    from sklearn.isotonic import IsotonicRegression

    usable, y = outcome(pairs, horizon)
    gap = np.clip(pairs["gap"].to_numpy(float), 0.0, MAX_GAP_S)
    ok = usable & ~np.isnan(gap)
    iso = IsotonicRegression(increasing=False, out_of_bounds="clip", y_min=0.0, y_max=1.0)
    return iso.fit(gap[ok], y[ok].astype(float))


@dataclass
class BacktestRow:
    horizon: int
    pairs: int
    passes: int
    model_brier: float
    model_auc: float
    baseline_brier: float
    baseline_auc: float
    climatology_brier: float


def backtest(
    model: BattleModel, train_pairs: pd.DataFrame, test_pairs: pd.DataFrame
) -> list[BacktestRow]:
    """Brier and AUC on ``test_pairs`` per horizon, beside the gap-only baseline fitted on
    ``train_pairs`` and the training base rate (climatology), all in this run."""
    from sklearn.metrics import brier_score_loss, roc_auc_score

    probs = model.predict(pair_features(test_pairs, model.rates, model.overall_rate))
    gap = np.clip(test_pairs["gap"].to_numpy(float), 0.0, MAX_GAP_S)
    rows = []
    for i, h in enumerate(HORIZONS):
        usable, y = outcome(test_pairs, h)
        ok = usable & ~np.isnan(gap)
        base = gap_baseline(train_pairs, h).predict(gap[ok])
        train_usable, train_y = outcome(train_pairs, h)
        rate = float(train_y[train_usable].mean())
        yt = y[ok].astype(int)
        rows.append(
            BacktestRow(
                horizon=h,
                pairs=int(ok.sum()),
                passes=int(yt.sum()),
                model_brier=float(brier_score_loss(yt, probs[ok, i])),
                model_auc=float(roc_auc_score(yt, probs[ok, i])),
                baseline_brier=float(brier_score_loss(yt, base)),
                baseline_auc=float(roc_auc_score(yt, base)),
                climatology_brier=float(brier_score_loss(yt, np.full(len(yt), rate))),
            )
        )
    return rows


def backtest_dict(rows: list[BacktestRow]) -> list[dict]:
    return [asdict(r) for r in rows]


@dataclass
class TrainingRun:
    model: BattleModel
    rows: list[BacktestRow]
    train_pairs: int
    test_pairs: int
    train_races: int
    test_races: int


def train_and_backtest(
    train_laps: pd.DataFrame,
    test_laps: pd.DataFrame,
    rounds: int = 300,
    threads: int = 1,
    step=None,
) -> TrainingRun:
    """Fit on ``train_laps`` and back-test on ``test_laps`` (races never seen in training)."""
    step = step or (lambda _msg: None)
    step("building pairs")
    train_pairs = pair_frame(train_laps)
    test_pairs = pair_frame(test_laps)
    step("training LightGBM (3 horizons)")
    model = fit(train_pairs, rounds=rounds, threads=threads)
    step("back-testing")
    rows = backtest(model, train_pairs, test_pairs)
    return TrainingRun(
        model,
        rows,
        len(train_pairs),
        len(test_pairs),
        int(train_laps["race_id"].nunique()),
        int(test_laps["race_id"].nunique()),
    )
