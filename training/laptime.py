"""Training the lap-time model (``strategy.laptime.LapTimeModel``) on real laps.

``anchor_table`` turns every car's race into anchors (its state after each lap, built by the
one feature builder ``strategy.lapfeatures``); ``training_rows`` pairs each anchor with later
clean laps of the same stint and of the next one (after a stop); ``train`` fits the ``near``
and ``far`` boosters. ``extend_model`` adds boosting rounds on races that finished since.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from strategy.compounds import COMPOUNDS
from strategy.lapfeatures import (
    ANCHOR_FEATURES,
    CATEGORICAL,
    FEATURES,
    CarLaps,
    FieldPace,
    RaceContext,
    anchor_features,
    is_clean,
)
from strategy.laptime import CROSS_ANCHORS, SAME_STINT_HORIZONS, LapTimeModel, is_near


def race_cars(race: pd.DataFrame) -> dict[str, CarLaps]:
    """Every car's :class:`CarLaps` of one race (rows of :func:`training.history.read_laps`)."""
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


EXTEND_ROUNDS = 60  # boosting rounds added per update with new races


def circuit_codes(laps: pd.DataFrame, known: dict[str, int] | None = None) -> dict[str, int]:
    """Circuit slug -> code: the known ones keep theirs, new circuits get new codes."""
    codes = dict(known or {})
    for c in sorted(laps["circuit"].unique()):
        codes.setdefault(c, len(codes))
    return codes


def extend_model(
    model: LapTimeModel, laps: pd.DataFrame, rounds: int = EXTEND_ROUNDS, threads: int = 1
) -> LapTimeModel:
    """``model`` with ``rounds`` more boosting rounds learnt from ``laps`` (finished races)."""
    circuits = circuit_codes(laps, model.circuits)
    rows = training_rows(anchor_table(laps, circuits))
    extended, _ = train(rows, circuits, None, rounds, None, threads, init_model=model)
    return extended
