"""The lap-time model: LightGBM on real laps, predicting a driver's lap ``h`` laps ahead.

The model learns the departure of a future clean lap from the driver's recent clean pace
(fuel-corrected), from compound and C-number, tyre age, stint, race distance, circuit, the
driver's pace against the field, position and traffic. Anchoring on recent pace lets one
model serve every team and season; the tree corrects for tyre wear, fuel and traffic.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from strategy.data import COMPOUND_INDEX
from strategy.fuel import FUEL_S_PER_LAP

FEATURES = [
    "circuit_code",
    "compound_idx",
    "compound_c",
    "tyre_life_at",
    "stint",
    "lap_frac_at",
    "laps_remaining_at",
    "horizon",
    "position",
    "rel_pace",
    "last_minus_ref",
    "gap_ahead",
    "slope_recent",
    "neutral_anchor",
    "sprint_race",
]
#: Defaults for features a caller's rows may lack (artifacts trained before they existed).
FEATURE_DEFAULTS = {"neutral_anchor": 0.0, "sprint_race": 0.0, "compound_c": -1.0}
HORIZONS = (1, 2, 3, 4, 5)


def clean_mask(laps: pd.DataFrame) -> pd.Series:
    """Green, timed laps that are neither in- nor out-laps (and not the standing start)."""
    ok = laps["green"] & ~laps["pit_in"] & ~laps["pit_out"] & laps["lap_time"].notna()
    ok &= laps["lap"] > 1
    med = laps.groupby("race_id")["lap_time"].transform(lambda s: s[ok.loc[s.index]].median())
    return ok & (laps["lap_time"] < med * 1.07) & (laps["lap_time"] > med * 0.93)


def anchor_frame(laps: pd.DataFrame) -> pd.DataFrame:
    """Per driver lap: the state known at the end of that lap (the anchor of predictions)."""
    df = laps.sort_values(["race_id", "driver", "lap"]).copy()
    df["clean"] = clean_mask(df)
    df["fc"] = df["lap_time"] - FUEL_S_PER_LAP * (df["laps_total"] - df["lap"])
    df["fc_clean"] = df["fc"].where(df["clean"])
    g = df.groupby(["race_id", "driver"], sort=False)["fc_clean"]
    df["ref_pace"] = g.transform(lambda s: s.rolling(5, min_periods=2).median())
    df["slope_recent"] = (
        g.transform(lambda s: s.rolling(6, min_periods=4).apply(_slope, raw=True))
        .fillna(0.0)
        .clip(-0.5, 0.5)
    )
    field_fc = df.groupby(["race_id", "lap"])["fc_clean"].median().rename("field_fc")
    df = df.join(field_fc, on=["race_id", "lap"])
    df["field_ref"] = df.groupby(["race_id", "driver"], sort=False)["field_fc"].transform(
        lambda s: s.rolling(5, min_periods=1).median()
    )
    df["rel_pace"] = df["ref_pace"] - df["field_ref"]
    df["last_minus_ref"] = (df["fc_clean"] - df["ref_pace"]).fillna(0.0)
    # Traffic: time to the car ahead at the line at the end of this lap.
    t = df.sort_values(["race_id", "lap", "time"])
    df["gap_ahead"] = (t.groupby(["race_id", "lap"])["time"].diff()).reindex(df.index)
    df["gap_ahead"] = df["gap_ahead"].fillna(99.0).clip(0, 99)
    df["compound_idx"] = df["compound"].map(COMPOUND_INDEX).fillna(-1).astype(int)
    df["neutral_anchor"] = df.get("neutralised", pd.Series(False, index=df.index)).astype(float)
    df["sprint_race"] = df.get("sprint", pd.Series(False, index=df.index)).astype(float)
    return df


def _slope(y: np.ndarray) -> float:
    x = np.arange(len(y), dtype=float)
    ok = ~np.isnan(y)
    if ok.sum() < 4:
        return np.nan
    x, y = x[ok], y[ok]
    x = x - x.mean()
    return float((x * (y - y.mean())).sum() / (x**2).sum())


def training_rows(anchors: pd.DataFrame, circuits: dict[str, int]) -> pd.DataFrame:
    """Rows (anchor lap n, target lap n+h) for every horizon, same stint, clean target."""
    out = []
    key = ["race_id", "driver"]
    for h in HORIZONS:
        tgt = anchors.groupby(key, sort=False)[["fc_clean", "stint", "lap", "lap_time"]].shift(-h)
        rows = anchors.copy()
        rows["target_fc"] = tgt["fc_clean"]
        rows["target_lap_time"] = tgt["lap_time"]
        rows["target_lap"] = rows["lap"] + h
        same = (tgt["stint"] == rows["stint"]) & (tgt["lap"] == rows["lap"] + h)
        rows = rows[same & rows["target_fc"].notna() & rows["ref_pace"].notna()]
        rows = add_horizon(rows, h, circuits)
        rows["y"] = rows["target_fc"] - rows["ref_pace"]
        out.append(rows)
    return pd.concat(out, ignore_index=True)


def add_horizon(rows: pd.DataFrame, h: int, circuits: dict[str, int]) -> pd.DataFrame:
    rows = rows.copy()
    rows["horizon"] = h
    rows["tyre_life_at"] = rows["tyre_life"] + h
    rows["lap_frac_at"] = (rows["lap"] + h) / rows["laps_total"]
    rows["laps_remaining_at"] = rows["laps_total"] - (rows["lap"] + h)
    rows["circuit_code"] = rows["circuit"].map(circuits).fillna(-1).astype(int)
    for name, default in FEATURE_DEFAULTS.items():
        if name not in rows:
            rows[name] = default
    return rows


@dataclass
class LapTimeModel:
    """A trained booster and the circuit coding it was trained with."""

    booster: object  # lightgbm.Booster
    circuits: dict[str, int]
    features: list[str] = field(default_factory=lambda: list(FEATURES))

    def predict_rows(self, rows: pd.DataFrame) -> np.ndarray:
        """Predicted lap times (s, with fuel) for rows of ``add_horizon`` output."""
        x = rows[self.features].astype(float).to_numpy()
        delta = self.booster.predict(x, num_threads=1)
        return (
            rows["ref_pace"].to_numpy()
            + delta
            + FUEL_S_PER_LAP * rows["laps_remaining_at"].to_numpy()
        )


def train(
    rows: pd.DataFrame,
    circuits: dict[str, int],
    valid: pd.DataFrame | None = None,
    rounds: int = 300,
    progress=None,
    threads: int = 1,
) -> tuple[LapTimeModel, dict[str, float]]:
    """Fit the booster; metrics are MAE on ``valid`` (another season) when given."""
    import lightgbm as lgb

    params = {
        "objective": "huber",
        "alpha": 1.0,
        "learning_rate": 0.06,
        "num_leaves": 63,
        "min_data_in_leaf": 100,
        "feature_fraction": 0.9,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "verbose": -1,
        # One thread by default: on a busy 2-core machine OpenMP spin-waits make two threads
        # far slower than one (benchmarks/RESULTS.md).
        "num_threads": threads,
    }
    dtrain = lgb.Dataset(
        rows[FEATURES].astype(float), rows["y"], categorical_feature=[0, 1], free_raw_data=True
    )
    callbacks = [progress] if progress else []
    valid_sets, names = [], []
    if valid is not None and len(valid):
        valid_sets = [lgb.Dataset(valid[FEATURES].astype(float), valid["y"], reference=dtrain)]
        names = ["valid"]
        params["metric"] = "l1"
    booster = lgb.train(
        params, dtrain, rounds, valid_sets=valid_sets, valid_names=names, callbacks=callbacks
    )
    model = LapTimeModel(booster, circuits)
    metrics: dict[str, float] = {"train_rows": float(len(rows))}
    if valid is not None and len(valid):
        pred = model.predict_rows(valid)
        metrics["valid_rows"] = float(len(valid))
        metrics["valid_mae_s"] = float(np.abs(pred - valid["target_lap_time"]).mean())
        v1 = valid[(valid["horizon"] == 1) & valid["clean"]]
        metrics["valid_next_lap_mae_s"] = float(
            np.abs(model.predict_rows(v1) - v1["target_lap_time"]).mean()
        )
        metrics["valid_persistence_mae_s"] = float(
            np.abs(v1["lap_time"] - v1["target_lap_time"]).mean()
        )
    return model, metrics
