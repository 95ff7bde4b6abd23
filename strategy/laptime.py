"""The lap-time model: LightGBM on real laps, a car's lap on any tyres some laps ahead.

From a car's state after a lap (the anchor: its pace on the current set, how that pace moves,
tyres, the field around it; :mod:`strategy.lapfeatures`) the model predicts the fuel-corrected
time of a later clean lap, as a departure from the car's current pace: on the same set some
laps ahead (tyre wear, traffic, track evolution), or on a new set of any compound after a stop
(the compound's pace and wear at this circuit against the car's current set). Two boosters
share the features: ``near`` for the next ``NEAR_LAPS`` laps on the current set, ``far`` for
later laps and new sets (trained together, the long horizons cost the near ones accuracy).
One model thus gives every car's expected lap time for every compound and tyre age ahead
(:meth:`LapTimeModel.curves`), which the plan table and the Monte Carlo race on, and the
next laps on the current set (:meth:`LapTimeModel.predict_ahead`), which ``/predictions``
answers and the back-test scores. Training rows pair anchors with later laps of the same
stint and of the next stint; split by season, never by lap.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from strategy.data import COMPOUND_INDEX, COMPOUNDS
from strategy.fuel import FUEL_S_PER_LAP
from strategy.lapfeatures import (
    ANCHOR_FEATURES,
    CATEGORICAL,
    FEATURES,
    CarLaps,
    FieldPace,
    RaceContext,
    anchor_features,
    is_clean,
    target_features,
)

SAME_STINT_HORIZONS = (1, 2, 3, 4, 5, 7, 10, 14, 19, 25, 32, 40)
NEAR_LAPS = 5  # horizons on the current set that the near booster predicts
CROSS_ANCHORS = 3  # anchors before a stop paired with the next stint's laps
MAX_AGE = 60  # tyre ages the curves cover
CURVE_AGES = np.array([0, 1, 2, 3, 4, 6, 8, 10, 13, 16, 20, 25, 30, 36, 43, 50, 60])


def clean_mask(laps: pd.DataFrame) -> pd.Series:
    """Rows of :func:`strategy.data.read_laps` that are clean laps to study history on: green,
    timed, neither in- nor out-laps nor the standing start, and within 7% of the race's
    median such lap (a slow zone the flags did not show is left out). It looks at the whole
    race: for analyses of past races, not for what a live car knows."""
    ok = laps["green"] & ~laps["pit_in"] & ~laps["pit_out"] & laps["lap_time"].notna()
    ok &= laps["lap"] > 1
    med = laps["lap_time"].where(ok).groupby(laps["race_id"]).transform("median")
    return ok & (laps["lap_time"] < med * 1.07) & (laps["lap_time"] > med * 0.93)


def race_cars(race: pd.DataFrame) -> dict[str, CarLaps]:
    """Every car's :class:`CarLaps` of one race (rows of :func:`strategy.data.read_laps`)."""
    laps_total = int(race["laps_total"].iloc[0])
    cars: dict[str, CarLaps] = {}
    cols = ["driver", "lap", "lap_time", "track_status", "pit_in", "pit_out", "stint",
            "compound", "tyre_life", "time", "position", "neutralised"]  # fmt: skip
    for row in race.sort_values(["driver", "lap"])[cols].itertuples(index=False):
        lap_time = None if pd.isna(row.lap_time) else float(row.lap_time)
        car = cars.setdefault(row.driver, CarLaps())
        car.append(
            int(row.lap),
            lap_time,
            is_clean(int(row.lap), lap_time, row.track_status, row.pit_in, row.pit_out),
            None if pd.isna(row.stint) else int(row.stint),
            row.compound,
            None if pd.isna(row.tyre_life) else float(row.tyre_life),
            None if pd.isna(row.time) else float(row.time),
            None if pd.isna(row.position) else int(row.position),
            bool(row.neutralised),
            laps_total,
        )
    return cars


def anchor_table(laps: pd.DataFrame, circuits: dict[str, int]) -> pd.DataFrame:
    """One row per driver lap: the anchor's features and what the lap itself was.

    Columns: race_id, season, circuit, driver, lap, laps_total, lap_time, fc (fuel-corrected
    time if clean, else NaN), clean, ewm (the anchor pace), compound, time, position_at, team,
    then ``ANCHOR_FEATURES`` (``stint``, ``tyre_life`` and ``compound_idx`` among them).
    """
    frames = []
    for race_id, race in laps.groupby("race_id", sort=True):
        first = race.iloc[0]
        ctx = RaceContext(
            circuits.get(first["circuit"], -1), int(first["laps_total"]), bool(first["sprint"])
        )
        cars = race_cars(race)
        fld = FieldPace(cars)
        rows = []
        for driver, car in cars.items():
            for i in range(len(car)):
                rows.append(
                    (driver, car.lap[i], car.lap_time[i], car.fc[i], car.ewm[i],
                     COMPOUNDS[car.compound[i]] if car.compound[i] >= 0 else "UNKNOWN",
                     car.time[i], car.position[i], *anchor_features(car, driver, i, fld, ctx))
                )  # fmt: skip
        df = pd.DataFrame(
            rows,
            columns=[
                "driver",
                "lap",
                "lap_time",
                "fc",
                "ewm",
                "compound",
                "time",
                "position_at",
                *ANCHOR_FEATURES,
            ],
        )
        df.insert(0, "race_id", race_id)
        df.insert(1, "season", int(first["season"]))
        df.insert(2, "circuit", first["circuit"])
        df["laps_total"] = ctx.laps_total
        df["team"] = df["driver"].map(race.groupby("driver")["team"].first())
        frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    out["clean"] = out["fc"].notna()
    return out


def _with_target(rows: pd.DataFrame, h: np.ndarray | int, compound, age, same) -> pd.DataFrame:
    rows = rows.copy()
    rows["horizon"] = h
    rows["target_compound_idx"] = compound
    rows["target_age"] = age
    rows["same_stint"] = float(same) if np.isscalar(same) else same
    rows["laps_remaining_at"] = (rows["laps_total"] - rows["lap"] - rows["horizon"]).clip(lower=0)
    rows["lap_frac_at"] = (rows["lap"] + rows["horizon"]) / rows["laps_total"]
    return rows


def ahead_rows(anchors: pd.DataFrame, h: int) -> pd.DataFrame:
    """Anchors paired with their lap ``h`` laps ahead in the same stint (any such lap), with
    ``target_fc``, ``target_lap_time``, ``target_clean`` and the target features."""
    key = ["race_id", "driver"]
    nxt = anchors.groupby(key, sort=False)[["lap", "stint", "fc", "lap_time", "clean"]].shift(-h)
    ok = (nxt["lap"] == anchors["lap"] + h) & (nxt["stint"] == anchors["stint"])
    rows = anchors[ok & anchors["ewm"].notna()].copy()
    rows["target_fc"] = nxt.loc[rows.index, "fc"]
    rows["target_lap_time"] = nxt.loc[rows.index, "lap_time"]
    rows["target_clean"] = nxt.loc[rows.index, "clean"].astype(bool)
    return _with_target(rows, h, rows["compound_idx"], rows["tyre_life"] + h, True)


def cross_rows(anchors: pd.DataFrame) -> pd.DataFrame:
    """The last laps before each stop paired with every clean lap of the next stint."""
    a = anchors.sort_values(["race_id", "driver", "lap"])
    key = [a["race_id"], a["driver"]]
    next_stint_lap = a["lap"].where(a["stint"] != a.groupby(key)["stint"].shift(1))
    a = a.assign(stint_start=next_stint_lap)
    starts = a.dropna(subset=["stint_start"])[["race_id", "driver", "stint", "stint_start"]]
    out = []
    for k in range(1, CROSS_ANCHORS + 1):
        anc = a[a["ewm"].notna()].copy()
        anc["next_stint"] = anc["stint"] + 1
        anc = anc.merge(
            starts.rename(columns={"stint": "next_stint", "stint_start": "next_start"}),
            on=["race_id", "driver", "next_stint"],
        )
        anc = anc[anc["next_start"] - anc["lap"] == k + 1]  # k laps before the in-lap's end
        tgt = a[a["clean"]][["race_id", "driver", "stint", "lap", "fc", "lap_time",
                             "compound_idx", "tyre_life"]]  # fmt: skip
        tgt = tgt.rename(columns={"stint": "next_stint", "lap": "target_lap", "fc": "target_fc",
                                  "lap_time": "target_lap_time",
                                  "compound_idx": "t_compound", "tyre_life": "t_age"})  # fmt: skip
        pairs = anc.merge(tgt, on=["race_id", "driver", "next_stint"])
        pairs = pairs[pairs["t_compound"] >= 0]
        out.append(
            _with_target(
                pairs,
                pairs["target_lap"] - pairs["lap"],
                pairs["t_compound"],
                pairs["t_age"],
                False,
            )
        )
    rows = pd.concat(out, ignore_index=True)
    rows["target_clean"] = True
    return rows


def training_rows(anchors: pd.DataFrame) -> pd.DataFrame:
    """Rows (anchor, later clean lap of the same or the next stint) with target ``y``:
    the later lap's fuel-corrected time minus the anchor's pace."""
    parts = [ahead_rows(anchors, h) for h in SAME_STINT_HORIZONS]
    parts = [p[p["target_clean"]] for p in parts]
    parts.append(cross_rows(anchors))
    rows = pd.concat(parts, ignore_index=True)
    rows["y"] = rows["target_fc"] - rows["ewm"]
    return rows[rows["y"].abs() < 15]


def is_near(x: np.ndarray) -> np.ndarray:
    """Rows of ``FEATURES`` values that the near booster predicts."""
    h, same = x[:, FEATURES.index("horizon")], x[:, FEATURES.index("same_stint")]
    return (same > 0.5) & (h <= NEAR_LAPS)


@dataclass
class LapTimeModel:
    """The trained boosters and the circuit coding they were trained with."""

    near: object  # lightgbm.Booster
    far: object
    circuits: dict[str, int]
    features: list[str] = field(default_factory=lambda: list(FEATURES))

    def delta(self, x: np.ndarray) -> np.ndarray:
        """Predicted departures (s) from the anchor pace for rows of ``FEATURES`` values."""
        out = np.empty(len(x))
        near = is_near(x)
        if near.any():
            out[near] = self.near.predict(x[near], num_threads=1)
        if (~near).any():
            out[~near] = self.far.predict(x[~near], num_threads=1)
        return out

    def predict_rows(self, rows: pd.DataFrame) -> np.ndarray:
        """Predicted lap times (s, with fuel) for rows with the features and ``ewm``."""
        x = rows[self.features].astype(float).to_numpy()
        return (
            rows["ewm"].to_numpy()
            + self.delta(x)
            + FUEL_S_PER_LAP * rows["laps_remaining_at"].to_numpy()
        )

    def curves(self, anchors: np.ndarray, laps: np.ndarray, laps_total: int,
               compounds: Iterable[int]) -> np.ndarray:  # fmt: skip
        """Expected fuel-corrected departure from each car's pace, ``[car, compound, age]``
        for ages 0..``MAX_AGE``: for the compound a car is on, over the ages ahead of its
        current one; for the others, on a new set fitted now.

        ``anchors``: one row of ``ANCHOR_FEATURES`` values per car; ``laps``: each car's last
        completed lap. Ages between the grid points ``CURVE_AGES`` are interpolated.
        """
        compounds = list(compounds)
        n = len(anchors)
        idx = {f: k for k, f in enumerate(ANCHOR_FEATURES)}
        rows, slots = [], []
        for i in range(n):
            a = anchors[i]
            cur, age_now = int(a[idx["compound_idx"]]), float(a[idx["tyre_life"]])
            for c in compounds:
                for g in CURVE_AGES:
                    if c == cur:
                        h = max(round(g - age_now), 1)
                        same = 1.0
                        age = age_now + h if g <= age_now else float(g)
                    else:
                        h, same, age = int(g) + 2, 0.0, float(g)
                    at = laps[i] + h
                    rows.append([*a, h, c, age, same, max(laps_total - at, 0), at / laps_total])
                    slots.append((i, c, g))
        out = np.full((n, len(COMPOUNDS), len(CURVE_AGES)), np.nan)
        if rows:
            pred = self.delta(np.asarray(rows, float))
            gi = {g: k for k, g in enumerate(CURVE_AGES)}
            for (i, c, g), p in zip(slots, pred, strict=True):
                out[i, c, gi[g]] = p
        ages = np.arange(MAX_AGE + 1)
        full = np.full((n, len(COMPOUNDS), MAX_AGE + 1), np.nan)
        for i in range(n):
            for c in compounds:
                full[i, c] = np.interp(ages, CURVE_AGES, out[i, c])
        return full


def train(
    rows: pd.DataFrame,
    circuits: dict[str, int],
    valid: pd.DataFrame | None = None,
    rounds: int = 400,
    progress=None,
    threads: int = 1,
    init_model: LapTimeModel | None = None,
) -> tuple[LapTimeModel, dict[str, float]]:
    """Fit both boosters (MAE objective); ``valid`` (another season's rows) gives metrics.
    ``init_model``: continue its boosting with ``rounds`` more trees on ``rows`` (races that
    finished since it was trained)."""
    x = rows[FEATURES].astype(float)
    near = is_near(x.to_numpy())
    boosters = [
        _fit(x[part], rows["y"][part], rounds, progress, threads,
             getattr(init_model, name) if init_model is not None else None)
        for name, part in (("near", near), ("far", ~near))
    ]  # fmt: skip
    model = LapTimeModel(*boosters, circuits)
    metrics: dict[str, float] = {"train_rows": float(len(rows))}
    if valid is not None and len(valid):
        pred = model.predict_rows(valid)
        metrics["valid_rows"] = float(len(valid))
        metrics["valid_mae_s"] = float(np.abs(pred - valid["target_lap_time"]).mean())
        nxt = (valid["horizon"] == 1) & (valid["same_stint"] > 0.5) & valid["clean"]
        if nxt.any():
            err = pred[nxt.to_numpy()] - valid.loc[nxt, "target_lap_time"].to_numpy()
            metrics["valid_next_lap_mae_s"] = float(np.abs(err).mean())
            metrics["valid_persistence_mae_s"] = float(
                (valid.loc[nxt, "lap_time"] - valid.loc[nxt, "target_lap_time"]).abs().mean()
            )
    return model, metrics


def _fit(x: pd.DataFrame, y: pd.Series, rounds: int, progress, threads: int, init) -> object:
    import lightgbm as lgb

    params = {
        "objective": "l1",
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
    cats = [FEATURES.index(c) for c in CATEGORICAL]
    dtrain = lgb.Dataset(x, y, categorical_feature=cats, free_raw_data=True)
    return lgb.train(
        params,
        dtrain,
        rounds,
        callbacks=[progress] if progress else [],
        init_model=init,
        keep_training_booster=init is not None,
    )


def compound_index(compound: str) -> int:
    return COMPOUND_INDEX.get(compound, -1)


def stint_anchor(
    circuit_code: int,
    compound: str,
    tyre_life: float,
    lap: int,
    laps_total: int,
    recent_laps: list[float],
    stint: int = 1,
    position: int = 10,
    gap_ahead: float = 99.0,
) -> tuple[CarLaps, list[float]]:
    """The anchor features of a car known only by its last clean laps on its set: its laps
    become a :class:`CarLaps` (alone in its field; the car ahead only as ``gap_ahead``)."""
    car = CarLaps()
    n = len(recent_laps)
    for k, t in enumerate(recent_laps):
        age = max(tyre_life - (n - 1 - k), 1.0)
        car.append(lap - (n - 1 - k), t, True, stint, compound, age, None, position, False,
                   laps_total)  # fmt: skip
    ctx = RaceContext(circuit_code, laps_total)
    anchor = anchor_features(car, "CAR", len(car) - 1, FieldPace({"CAR": car}), ctx)
    anchor[ANCHOR_FEATURES.index("gap_ahead")] = min(gap_ahead, 99.0)
    return car, anchor


def predict_stint(
    model: LapTimeModel,
    circuit: str,
    compound: str,
    tyre_life: float,
    lap: int,
    laps_total: int,
    recent_laps: list[float],
    stint: int = 1,
    position: int = 10,
    gap_ahead: float = 99.0,
    horizon: int = 5,
) -> list[float]:
    """A car's next ``horizon`` lap times on its current set (s, with fuel) from its last
    clean laps (``recent_laps``, oldest first, the last one completed at ``lap``), through the
    same feature builder as training (:func:`stint_anchor`)."""
    car, anchor = stint_anchor(
        model.circuits.get(circuit, -1), compound, tyre_life, lap, laps_total, recent_laps,
        stint, position, gap_ahead,
    )  # fmt: skip
    cidx = compound_index(compound)
    x = np.array(
        [[*anchor, *target_features(anchor, lap, h, cidx, tyre_life + h, True, laps_total)]
         for h in range(1, horizon + 1)]
    )  # fmt: skip
    ewm = car.ewm[-1]
    remaining = np.maximum(laps_total - (lap + np.arange(1, horizon + 1)), 0)
    return list(ewm + model.delta(x) + FUEL_S_PER_LAP * remaining)
