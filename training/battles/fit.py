"""Fitting the battle forecast's classifiers (one LightGBM per horizon) on pairs of seasons of
history, and writing them as a ``battles-<version>/`` artifact that ``strategy.battles.load``
reads.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from strategy.battles.history import HORIZONS, outcome, passing_rates
from strategy.battles.model import FEATURES, MONOTONE, BattleModel, pair_features


def fit(
    pairs: pd.DataFrame,
    rounds: int = 300,
    threads: int = 1,
    rates: tuple[dict[str, float], float] | None = None,
) -> BattleModel:
    """Fit the passing rates (unless given) and one classifier per horizon on ``pairs``."""
    import lightgbm as lgb

    table, overall = rates or passing_rates(pairs)
    x = pair_features(pairs, table, overall)
    params = {
        "objective": "binary",
        "learning_rate": 0.05,
        "num_leaves": 31,
        "min_data_in_leaf": 200,
        "feature_fraction": 0.9,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l2": 1.0,
        "monotone_constraints": [MONOTONE.get(f, 0) for f in FEATURES],
        "verbose": -1,
        "num_threads": threads,
    }
    boosters = {}
    for h in HORIZONS:
        usable, y = outcome(pairs, h)
        data = lgb.Dataset(x[usable].to_numpy(float), y[usable].astype(float), free_raw_data=True)
        boosters[h] = lgb.train(params, data, rounds)
    return BattleModel(boosters, table, overall)


def save(model: BattleModel, model_dir: Path, metadata: dict) -> Path:
    """Write ``battles-<version>/`` (a booster per horizon, ``metadata.json``)."""
    version = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    folder = model_dir / f"battles-{version}"
    folder.mkdir(parents=True, exist_ok=False)
    for h, booster in model.boosters.items():
        booster.save_model(str(folder / f"pass_within_{h}.txt"))
    meta = {
        "version": version,
        "features": FEATURES,
        "horizons": list(HORIZONS),
        "passing_rates": model.rates,
        "overall_rate": model.overall_rate,
        **metadata,
    }
    (folder / "metadata.json").write_text(json.dumps(meta, indent=2, default=float))
    return folder
