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

from strategy.compounds import COMPOUND_INDEX, COMPOUNDS
from strategy.fuel import FUEL_S_PER_LAP
from strategy.lapfeatures import (
    ANCHOR_FEATURES,
    FEATURES,
    CarLaps,
    FieldPace,
    RaceContext,
    anchor_features,
    target_features,
)

SAME_STINT_HORIZONS = (1, 2, 3, 4, 5, 7, 10, 14, 19, 25, 32, 40)
NEAR_LAPS = 5  # horizons on the current set that the near booster predicts
CROSS_ANCHORS = 3  # anchors before a stop paired with the next stint's laps
MAX_AGE = 60  # tyre ages the curves cover
CURVE_AGES = np.array([0, 1, 2, 3, 4, 6, 8, 10, 13, 16, 20, 25, 30, 36, 43, 50, 60])


def _racing_laps(laps: pd.DataFrame) -> pd.Series:
    """Green, timed laps that are neither in- nor out-laps nor the standing start."""
    ok = laps["green"] & ~laps["pit_in"] & ~laps["pit_out"] & laps["lap_time"].notna()
    return ok & (laps["lap"] > 1)


def clean_mask(laps: pd.DataFrame) -> pd.Series:
    """Rows of :func:`training.history.read_laps` that are clean laps to study history on:
    racing laps within 7% of the race's median such lap (a slow zone the flags did not show
    is left out). It looks at the whole race: for analyses of past races, not for what a
    live car knows (:func:`clean_mask_as_known`)."""
    ok = _racing_laps(laps)
    med = laps["lap_time"].where(ok).groupby(laps["race_id"]).transform("median")
    return ok & (laps["lap_time"] < med * 1.07) & (laps["lap_time"] > med * 0.93)


def clean_mask_as_known(laps: pd.DataFrame) -> pd.Series:
    """``clean_mask`` as known during the race: the 7% band is around the median of the
    race's racing laps completed on earlier laps (no band before there are any), so a lap's
    verdict never depends on laps after it."""
    ok = _racing_laps(laps)
    med = pd.Series(np.nan, index=laps.index)
    for _race, rows in laps[ok].groupby("race_id"):
        times = rows["lap_time"].to_numpy(float)
        lap_of = rows["lap"].to_numpy()
        order = np.argsort(lap_of, kind="stable")
        done: list[float] = []
        k = 0
        for lap in np.unique(lap_of):
            while k < len(order) and lap_of[order[k]] < lap:
                done.append(times[order[k]])
                k += 1
            if done:
                med.loc[rows.index[lap_of == lap]] = float(np.median(done))
    band = (laps["lap_time"] < med * 1.07) & (laps["lap_time"] > med * 0.93)
    return ok & (band | med.isna())


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
