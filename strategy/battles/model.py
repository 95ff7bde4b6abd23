"""The battle forecast's features, its model (a LightGBM classifier per horizon) and its
artifact on disk."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from strategy.battles.history import DRS_GAP_S, HORIZONS
from strategy.circuits import canonical_circuit
from strategy.compounds import COMPOUND_INDEX

MAX_GAP_S = 30.0
FEATURES = [
    "gap",
    "drs",
    "pace_delta",
    "tyre_age_delta",
    "compound_ahead",
    "compound_behind",
    "passing_rate",
    "position",
    "lap_frac",
]
#: Monotone constraints (LightGBM): a bigger gap or a slower car behind never raises the chance.
MONOTONE = {"gap": -1, "pace_delta": -1, "drs": 1, "passing_rate": 1}


def _num(v: object) -> np.ndarray:
    """Floats, None and non-numbers as NaN (a few cars live, a season of pairs in training)."""
    if isinstance(v, pd.Series):
        return pd.to_numeric(v, errors="coerce").to_numpy(float)
    a = np.asarray(v)
    if a.dtype == object:
        a = np.array([np.nan if x is None else x for x in a.ravel()], dtype=float)
    return a.astype(float)


def features(*args: object) -> pd.DataFrame:
    """``feature_matrix`` as a frame with the ``FEATURES`` columns."""
    return pd.DataFrame(feature_matrix(*args), columns=FEATURES)  # type: ignore[arg-type]


def feature_matrix(
    gap: Sequence[float] | np.ndarray,
    pace_ahead: Sequence[float | None] | np.ndarray,
    pace_behind: Sequence[float | None] | np.ndarray,
    tyre_age_ahead: Sequence[float | None] | np.ndarray,
    tyre_age_behind: Sequence[float | None] | np.ndarray,
    compound_ahead: Sequence[str | None] | np.ndarray,
    compound_behind: Sequence[str | None] | np.ndarray,
    passing_rate: Sequence[float] | np.ndarray | float,
    position: Sequence[int] | np.ndarray,
    lap: Sequence[int] | np.ndarray | int,
    laps_total: Sequence[int] | np.ndarray | int,
) -> np.ndarray:
    """The model's inputs for pairs of cars (arrays of equal length; scalars broadcast), one
    row per pair, columns in ``FEATURES`` order. Plain numpy: the stream worker calls it for
    a handful of pairs every lap."""

    g = np.clip(_num(gap), 0.0, MAX_GAP_S)
    n = len(g)

    def comp(v: Sequence[str | None] | np.ndarray) -> np.ndarray:
        return np.array([COMPOUND_INDEX.get(str(c).upper(), -1) for c in v], dtype=float)

    lap_a = np.broadcast_to(_num(np.atleast_1d(lap)), (n,))
    total = np.broadcast_to(_num(np.atleast_1d(laps_total)), (n,))
    columns = {
        "gap": g,
        "drs": (g < DRS_GAP_S).astype(float),
        "pace_delta": _num(pace_behind) - _num(pace_ahead),
        "tyre_age_delta": _num(tyre_age_behind) - _num(tyre_age_ahead),
        "compound_ahead": comp(compound_ahead),
        "compound_behind": comp(compound_behind),
        "passing_rate": np.broadcast_to(_num(np.atleast_1d(passing_rate)), (n,)),
        "position": _num(position),
        "lap_frac": lap_a / np.maximum(total, 1.0),
    }
    return np.column_stack([columns[f] for f in FEATURES]).reshape(n, len(FEATURES))


def pair_features(pairs: pd.DataFrame, rates: dict[str, float], overall: float) -> pd.DataFrame:
    """``features`` of a ``pair_frame``, with the circuit's passing rate from ``rates``."""
    rate = pairs["circuit"].map(canonical_circuit).map(rates).fillna(overall)
    return features(
        pairs["gap"],
        pairs["pace_ahead"],
        pairs["pace_behind"],
        pairs["tyre_age_ahead"],
        pairs["tyre_age_behind"],
        pairs["compound_ahead"],
        pairs["compound_behind"],
        rate.to_numpy(),
        pairs["position"],
        pairs["lap"].to_numpy(),
        pairs["laps_total"].to_numpy(),
    )


@dataclass
class BattleModel:
    """One booster per horizon, the circuits' passing rates and the run's metrics."""

    boosters: dict[int, object]  # horizon -> lightgbm.Booster
    rates: dict[str, float]
    overall_rate: float
    version: str = "untrained"
    metadata: dict = field(default_factory=dict)

    def rate(self, circuit: str) -> float:
        return self.rates.get(canonical_circuit(circuit), self.overall_rate)

    def predict(self, x: pd.DataFrame | np.ndarray) -> np.ndarray:
        """P(pass within h laps) for each row of features (a ``features`` frame or a
        ``feature_matrix``) and horizon (columns: ``HORIZONS``), never falling as the
        horizon grows."""
        if not len(x):
            return np.zeros((0, len(HORIZONS)))
        values = x if isinstance(x, np.ndarray) else x[FEATURES].to_numpy(float)
        cols = [np.asarray(self.boosters[h].predict(values, num_threads=1)) for h in HORIZONS]
        return np.maximum.accumulate(np.column_stack(cols), axis=1)


def latest(model_dir: Path) -> Path | None:
    found = sorted(p for p in model_dir.glob("battles-*") if (p / "metadata.json").exists())
    return found[-1] if found else None


def load(model_dir: Path) -> BattleModel | None:
    """The newest battle model in ``model_dir`` (None when there is none)."""
    folder = latest(model_dir) if model_dir.exists() else None
    if folder is None:
        return None
    import lightgbm as lgb

    meta = json.loads((folder / "metadata.json").read_text())
    boosters = {
        h: lgb.Booster(model_file=str(folder / f"pass_within_{h}.txt")) for h in meta["horizons"]
    }
    return BattleModel(boosters, meta["passing_rates"], meta["overall_rate"], meta["version"], meta)
