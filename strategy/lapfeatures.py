"""The one feature builder of the lap-time model: training, back-test, API and worker.

A car's race is a :class:`CarLaps`: its completed laps in order, and for each lap what its
laps so far say about its pace (fuel-corrected, on the current set of tyres: an exponentially
weighted mean, a median, the last laps, the slope). Laps are added one at a time
(:meth:`CarLaps.append`) whether they come from a lap CSV (training, back-test) or from the
live worker, and :func:`anchor_features` reads one lap of one car with the field around it.
Nothing here looks ahead: every feature of lap ``i`` uses laps up to ``i`` only (the field's
pace only up to the lap before), so what the model learns is what it gets live.

Prediction target: the fuel-corrected time of a later clean lap, as a departure from the
anchor's ``ewm`` pace (see :mod:`strategy.laptime`).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from strategy.compounds import COMPOUND_INDEX
from strategy.fuel import fuel_corrected

EWM_ALPHA = 0.5  # weight of the newest clean lap in a car's pace
REF_LAPS = 5  # laps of the median pace
SLOPE_LAPS = 6  # laps of the recent slope
OUTLIER_S = 4.0  # a lap this much slower or faster than the car's pace is not a clean lap
FIELD_LAPS = 5  # laps of the field's pace

#: Features of an anchor lap (the state known when the car has completed it).
ANCHOR_FEATURES = [
    "circuit_code",
    "compound_idx",
    "tyre_life",
    "stint",
    "lap_frac",
    "position",
    "neutral_anchor",
    "sprint_race",
    "gap_ahead",
    "ahead_pace_delta",
    "rel_pace",
    "field_trend",
    "n_clean",
    "ref_minus_ewm",
    "last_minus_ewm",
    "d1",
    "d2",
    "d3",
    "slope_recent",
]
#: Features of the lap predicted, relative to the anchor.
TARGET_FEATURES = [
    "horizon",
    "target_compound_idx",
    "target_age",
    "same_stint",
    "laps_remaining_at",
    "lap_frac_at",
]
FEATURES = ANCHOR_FEATURES + TARGET_FEATURES
CATEGORICAL = ["circuit_code", "compound_idx", "target_compound_idx"]


def is_clean(lap: int, lap_time: float | None, track_status: str | None, pit_in: bool,
             pit_out: bool, deleted: bool | None = False) -> bool:  # fmt: skip
    """A timed green lap that is neither an in- nor an out-lap (nor the standing start)."""
    status = track_status or "1"
    return (
        lap_time is not None
        and not math.isnan(lap_time)
        and lap > 1
        and not pit_in
        and not pit_out
        and set(status) <= {"1"}
        and not deleted
    )


def _same(x: Any) -> Any:
    return x


def _float(x: Any) -> float:
    return float("nan") if x is None else float(x)


#: The fields of :class:`CarLaps` that hold floats (NaN for "none").
_FLOAT_FIELDS = {
    k: _float for k in ("lap_time", "fc", "tyre_life", "time", "position", "ewm", "ref", "last")
}


@dataclass
class CarLaps:
    """One car's completed laps of a race, in order, with the pace they show so far.

    Plain lists (JSON for the worker's changelog). ``fc`` is the fuel-corrected time of a
    clean lap (NaN otherwise); ``ewm``, ``ref``, ``last`` the car's pace on its current set
    after each lap (NaN before its first clean lap on it).
    """

    lap: list[int] = field(default_factory=list)
    lap_time: list[float] = field(default_factory=list)
    fc: list[float] = field(default_factory=list)
    stint: list[int] = field(default_factory=list)
    compound: list[int] = field(default_factory=list)
    tyre_life: list[float] = field(default_factory=list)
    time: list[float] = field(default_factory=list)
    position: list[float] = field(default_factory=list)
    neutral: list[bool] = field(default_factory=list)
    ewm: list[float] = field(default_factory=list)
    ref: list[float] = field(default_factory=list)
    last: list[float] = field(default_factory=list)
    n_clean: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.lap)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CarLaps:
        """Laps from :meth:`to_dict`'s form, after JSON: a missing value (NaN, which JSON
        writes as null) comes back as NaN."""
        return cls(**{k: [_FLOAT_FIELDS.get(k, _same)(x) for x in v] for k, v in d.items()})

    def to_dict(self) -> dict[str, list]:
        return {k: v for k, v in vars(self).items()}

    def append(
        self,
        lap: int,
        lap_time: float | None,
        clean: bool,
        stint: int | None,
        compound: str | None,
        tyre_life: float | None,
        time: float | None,
        position: int | None,
        neutral: bool,
        laps_total: int,
    ) -> None:
        """Add the car's next completed lap (laps in order; an older lap is ignored)."""
        if self.lap and lap <= self.lap[-1]:
            return
        nan = float("nan")
        stint = int(stint) if stint is not None else (self.stint[-1] if self.stint else 1)
        same = bool(self.stint) and self.stint[-1] == stint
        prev_ewm = self.ewm[-1] if same else nan
        fc = nan
        if clean and lap_time is not None:
            fc = fuel_corrected(lap_time, lap, laps_total)
            if not math.isnan(prev_ewm) and abs(fc - prev_ewm) > OUTLIER_S:
                if self._pace_moved(fc, stint, laps_total):
                    prev_ewm = nan  # the pace it had is gone: start again from these laps
                else:
                    fc = nan  # a mistake, traffic or a slow zone: not the car's pace
        self.lap.append(int(lap))
        self.lap_time.append(nan if lap_time is None else float(lap_time))
        self.fc.append(fc)
        self.stint.append(stint)
        self.compound.append(COMPOUND_INDEX.get(compound or "", -1))
        self.tyre_life.append(nan if tyre_life is None else float(tyre_life))
        self.time.append(nan if time is None else float(time))
        self.position.append(nan if position is None else float(position))
        self.neutral.append(bool(neutral))
        if math.isnan(fc):
            self.ewm.append(prev_ewm)
            self.last.append(self.last[-1] if same else nan)
        else:
            self.ewm.append(
                fc if math.isnan(prev_ewm) else EWM_ALPHA * fc + (1 - EWM_ALPHA) * prev_ewm
            )
            self.last.append(fc)
        window = self._stint_window(len(self.lap) - 1, REF_LAPS)
        clean_fc = [self.fc[j] for j in window if not math.isnan(self.fc[j])]
        self.ref.append(float(np.median(clean_fc)) if len(clean_fc) >= 2 else nan)
        self.n_clean.append((self.n_clean[-1] if same else 0) + (not math.isnan(fc)))

    def _pace_moved(self, fc: float, stint: int, laps_total: int) -> bool:
        """Whether the car's previous lap, on the same set and not neutralised, was as far
        from its pace as ``fc`` and within a second of it: two such laps are the car's pace
        now (after a red flag's restart, say), not two mistakes; otherwise a slow lap once
        taken for its pace would keep every later lap out."""
        if not self.lap or self.stint[-1] != stint or self.neutral[-1]:
            return False
        if not math.isnan(self.fc[-1]) or math.isnan(self.lap_time[-1]):
            return False
        before = fuel_corrected(self.lap_time[-1], self.lap[-1], laps_total)
        return abs(before - fc) < 1.0

    def _stint_window(self, i: int, n: int) -> range:
        """Indices of the last ``n`` laps up to ``i`` in lap ``i``'s stint."""
        start = i
        while start > 0 and i - start + 1 < n and self.stint[start - 1] == self.stint[i]:
            start -= 1
        return range(start, i + 1)

    def recent_clean(self, i: int, n: int) -> list[float]:
        """Fuel-corrected times of the last ``n`` clean laps up to ``i`` in its stint."""
        out: list[float] = []
        j = i
        while j >= 0 and self.stint[j] == self.stint[i] and len(out) < n:
            if not math.isnan(self.fc[j]):
                out.append(self.fc[j])
            j -= 1
        return out[::-1]

    def slope(self, i: int) -> float:
        """Seconds per lap over the clean laps of the last ``SLOPE_LAPS`` laps of the stint."""
        window = self._stint_window(i, SLOPE_LAPS)
        pts = [(self.lap[j], self.fc[j]) for j in window if not math.isnan(self.fc[j])]
        if len(pts) < 4:
            return 0.0
        return _clip(ols_slope(pts)[0], -0.5, 0.5)

    def copy(self) -> CarLaps:
        """A copy that later laps do not change (the strategy thread reads one while the
        worker's event loop appends to the original)."""
        return CarLaps(**{name: list(values) for name, values in vars(self).items()})

    def upto(self, lap: int) -> CarLaps:
        """The car's laps up to and including ``lap`` (a copy)."""
        k = 0
        while k < len(self.lap) and self.lap[k] <= lap:
            k += 1
        return CarLaps(**{name: values[:k] for name, values in vars(self).items()})

    def index_of(self, lap: int) -> int | None:
        """The index of lap ``lap`` (None when the car has not completed it)."""
        if not self.lap or lap > self.lap[-1]:
            return None
        k = lap - self.lap[0]
        if 0 <= k < len(self.lap) and self.lap[k] == lap:
            return k
        try:
            return self.lap.index(lap)
        except ValueError:
            return None


@dataclass(frozen=True)
class RaceContext:
    """What every anchor of a race shares."""

    circuit_code: int
    laps_total: int
    sprint: bool = False


class FieldPace:
    """The field's pace and crossing times per lap, from every car's laps (one per race)."""

    def __init__(self, cars: Mapping[str, CarLaps]) -> None:
        self.cars = cars
        max_lap = max((c.lap[-1] for c in cars.values() if c.lap), default=0)
        self.max_lap = max_lap
        fc = np.full((len(cars), max_lap + 1), np.nan)
        times = np.full((len(cars), max_lap + 1), np.nan)
        ewm = np.full((len(cars), max_lap + 1), np.nan)
        self.row = {}
        for r, (driver, c) in enumerate(cars.items()):
            self.row[driver] = r
            laps = np.asarray(c.lap, int)
            fc[r, laps] = c.fc
            times[r, laps] = c.time
            ewm[r, laps] = c.ewm
        self.times, self.ewm, self.fc = times, ewm, fc
        self._paces: dict[tuple[int, bytes], float] = {}  # (lap, laps known) -> pace

    def pace(self, lap: int, before: float = float("inf")) -> float:
        """The field's pace before ``lap``: the median of its per-lap medians over the laps
        before, counting only laps completed before session time ``before`` (a lapped car
        completes a lap long after the leader: what it shows was not known then)."""
        lo = max(lap - FIELD_LAPS, 0)
        if lap <= lo:
            return float("nan")
        fc = self.fc[:, lo:lap]
        known = ~np.isnan(fc)
        if before != float("inf"):
            known &= self.times[:, lo:lap] < before
        # Most cars of a lap see the same laps known: their field pace is computed once.
        key = (lap, known.tobytes())
        pace = self._paces.get(key)
        if pace is None:
            # per-lap medians by hand: numpy's nanmedian costs milliseconds on arrays this small
            cols = range(fc.shape[1])
            vals = [statistics.median(fc[known[:, k], k]) for k in cols if known[:, k].any()]
            pace = self._paces[key] = float(statistics.median(vals)) if vals else float("nan")
        return pace

    def ahead(self, driver: str, lap: int) -> tuple[float, float]:
        """Gap (s) to the car that crossed the line just before ``driver`` on ``lap`` and that
        car's pace (NaN when none)."""
        r = self.row[driver]
        if lap > self.max_lap:
            return float("nan"), float("nan")
        t = self.times[:, lap]
        mine = t[r]
        if math.isnan(mine):
            return float("nan"), float("nan")
        before = np.where(t < mine, t, -np.inf)
        k = int(np.argmax(before))
        if before[k] == -np.inf:
            return float("nan"), float("nan")
        return float(mine - t[k]), float(self.ewm[k, lap])


def ols_slope(pts: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares slope of y on x over the points, and the sum of squared deviations of x
    that weighs it ((0, 0) when x does not vary). Plain floats: numpy costs more than the
    sums on a stint's few laps."""
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    if sxx <= 0:
        return 0.0, 0.0
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx, sxx


def _clip(x: float, lo: float, hi: float) -> float:
    """``np.clip`` for one float (numpy's costs microseconds a call)."""
    return lo if x < lo else hi if x > hi else x


def _nz(x: float, default: float = 0.0) -> float:
    return default if math.isnan(x) else x


def anchor_features(
    car: CarLaps, driver: str, i: int, field: FieldPace, ctx: RaceContext
) -> list[float]:
    """The values of ``ANCHOR_FEATURES`` for lap ``i`` (an index) of ``car``."""
    lap = car.lap[i]
    ewm = car.ewm[i]
    recent = car.recent_clean(i, 4)
    d = [(recent[-1] - recent[-1 - k]) if len(recent) > k else 0.0 for k in (1, 2, 3)]
    now = car.time[i]
    before = now if not math.isnan(now) else float("inf")
    field_pace = field.pace(lap, before)
    gap_ahead, ahead_pace = field.ahead(driver, lap)
    trend = field_pace - field.pace(lap - 3, before) if lap > 3 else float("nan")
    return [
        float(ctx.circuit_code),
        float(car.compound[i]),
        _nz(car.tyre_life[i], float(lap)),
        float(car.stint[i]),
        lap / ctx.laps_total,
        _nz(car.position[i], 20.0),
        float(car.neutral[i]),
        float(ctx.sprint),
        min(_nz(gap_ahead, 99.0), 99.0),
        _clip(_nz(ahead_pace - ewm), -5, 5),
        _clip(_nz(car.ref[i] - field_pace), -10, 10),
        _clip(_nz(trend), -3, 3),
        float(car.n_clean[i]),
        _nz(car.ref[i] - ewm),
        _nz(car.last[i] - ewm),
        *(_clip(float(x), -3, 3) for x in d),
        car.slope(i),
    ]


def target_features(
    anchor: Sequence[float],
    lap: int,
    horizon: int,
    target_compound: int,
    target_age: float,
    same_stint: bool,
    laps_total: int,
) -> list[float]:
    """The values of ``TARGET_FEATURES`` for the lap ``horizon`` laps after ``lap``."""
    at = lap + horizon
    return [
        float(horizon),
        float(target_compound),
        float(target_age),
        float(same_stint),
        float(max(laps_total - at, 0)),
        at / laps_total,
    ]


def predict_anchor_pace(car: CarLaps, i: int) -> float:
    """The anchor of predictions: the car's ``ewm`` pace after lap ``i`` (NaN before one)."""
    return car.ewm[i]
