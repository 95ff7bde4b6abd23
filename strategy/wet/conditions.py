"""The track-condition estimator: how fast each tyre family is now and over the laps ahead.

:class:`TrackConditions` is fed what the live worker sees (every completed lap with its
compound, tyre changes, and weather samples when the session has them) and, at the end of a
leader lap, gives a :class:`TrackEstimate`:

- per family, a fuel-corrected lap time level and its trend (s per lap), from the clean laps
  of the cars on it over the last laps, each car's lap divided by that car's usual share of
  the field's pace (so that the few cars first on a new family do not bias it);
- the dry reference lap (the best field pace on slicks so far, or a reference from earlier
  seasons passed in) and the track's wetness (:mod:`strategy.wet.families`), inferred from
  every family observed, with its trend; a family nobody runs gets the wetness model's pace;
- the field's moves: the share of running cars that changed family over the last laps (the
  teams see radar and sector times the lap times do not show yet).

The weather topic, when present, bounds the trend: while it rains the track is not drying,
and once the rain has stopped for ``DRY_AFTER_LAPS`` laps it is not getting wetter.

State is plain JSON (``to_dict`` / ``from_dict``) for the worker's changelogged tables, and
bounded: laps older than ``KEEP_LAPS`` are dropped.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from strategy.fuel import fuel_corrected
from strategy.wet.families import (
    DRY,
    FAMILIES,
    WetParams,
    family_of,
    slowdown,
    slowdown_slope,
    wetness_from,
)

KEEP_LAPS = 8  # laps of lap times kept (car pace shares and the trend window need fewer)
DRY_REF_MIN_CARS = 8  # slick laps of a lap needed before its median counts as dry pace
RATIO_MIN_CARS = 3  # cars on a family in a lap before a car's share of their pace counts
CAR_RATIO_CLIP = (0.95, 1.05)  # a car is at most 5% off the field's pace on the same tyres
DRY_AFTER_LAPS = 2  # laps without rain after which the track is taken not to get wetter
NEUTRALISED = frozenset("4567")  # SC, red flag, VSC, VSC ending: no lap says anything


def _neutralised(track_status: str | None) -> bool:
    return bool(track_status) and bool(NEUTRALISED & set(str(track_status)))


@dataclass(frozen=True)
class FamilyPace:
    """One family's expected fuel-corrected lap time at the estimate's lap, and its trend."""

    level: float | None  # s; None: unknown (nobody on it and no wetness model)
    slope: float  # s per lap
    cars: int  # cars running on it now
    observed: int  # cars with clean laps on it in the window
    source: str  # "observed", "model" (wetness model only) or "none"


@dataclass(frozen=True)
class TrackEstimate:
    """The track at the end of leader lap ``lap``, for the laps ahead."""

    lap: int
    families: dict[str, FamilyPace]
    dry_reference: float | None
    wetness: float | None
    wetness_slope: float
    #: share of the running cars that moved between families recently, "dry>INTERMEDIATE"
    moves: dict[str, float]
    running: int
    params: WetParams
    rainfall: bool | None = None
    track_temp: float | None = None

    def pace(self, family: str, laps_ahead: int) -> np.ndarray:
        """Expected fuel-corrected lap times of ``family`` for the next ``laps_ahead`` laps
        (NaN where unknown); the trend fades by ``damping`` per lap."""
        fp = self.families.get(family)
        if fp is None or fp.level is None:
            return np.full(laps_ahead, np.nan)
        rho = self.params.damping
        steps = np.cumsum(rho ** np.arange(laps_ahead))  # 1, 1+rho, 1+rho+rho^2, ...
        return fp.level + fp.slope * steps

    def move_share(self, src: str, dst: str) -> float:
        return self.moves.get(f"{src}>{dst}", 0.0)

    def to_dict(self) -> dict[str, Any]:
        """A JSON summary (for a strategy event or the dashboard)."""
        return {
            "lap": self.lap,
            "dry_reference": self.dry_reference,
            "wetness": self.wetness,
            "wetness_slope": self.wetness_slope,
            "families": {f: vars(fp) for f, fp in self.families.items()},
            "moves": dict(self.moves),
            "running": self.running,
            "rainfall": self.rainfall,
            "track_temp": self.track_temp,
        }


def _fit_line(points: list[tuple[int, float, float]], at: int) -> tuple[float, float | None]:
    """Weighted least squares of (lap, value, weight) points: the value at lap ``at`` and the
    slope per lap (None from a single lap)."""
    laps = np.array([p[0] for p in points], float)
    vals = np.array([p[1] for p in points], float)
    w = np.array([p[2] for p in points], float)
    if len(np.unique(laps)) < 2:
        return float(np.average(vals, weights=w)), None
    x = laps - at
    xm, ym = np.average(x, weights=w), np.average(vals, weights=w)
    slope = float(np.sum(w * (x - xm) * (vals - ym)) / np.sum(w * (x - xm) ** 2))
    return float(ym - slope * xm), slope


@dataclass
class TrackConditions:
    """Follows a session's track conditions from its laps, tyre changes and weather.

    ``dry_reference``: a fuel-corrected dry lap time for this circuit from earlier races
    (:func:`training.wet.history.dry_reference`), used until the session's own slick laps
    give one; without either, a family nobody runs has no pace.
    """

    laps_total: int | None = None
    dry_reference: float | None = None
    params: WetParams = field(default_factory=WetParams)
    #: lap (as text) -> [[driver, family, fuel-corrected time], ...], clean laps only
    laps: dict[str, list[list[Any]]] = field(default_factory=dict)
    family: dict[str, str] = field(default_factory=dict)  # driver -> family now
    family_from: dict[str, int] = field(default_factory=dict)  # driver -> its first lap on it
    last_lap: dict[str, int] = field(default_factory=dict)  # driver -> last lap completed
    #: [in-lap, driver, from family, to family, leader lap when it became known]
    switches: list[list[Any]] = field(default_factory=list)
    own_dry: float | None = None  # best slick field pace of this session so far
    dry_folded: int = 0  # laps below this are folded into own_dry
    lap: int = 0  # highest lap seen
    rainfall: bool | None = None
    rain_lap: int | None = None  # lap during which rain was last seen
    track_temp: float | None = None
    _version: int = field(default=0, repr=False, compare=False)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    # -- inputs ----------------------------------------------------------------------------

    def apply(self, e: Any) -> None:
        """A race event as the worker gets it (read by attribute, so pydantic models and
        msgspec structs both work): laps, stints and weather samples; others are ignored."""
        kind = getattr(e, "type", None)
        if kind == "lap":
            self.update_lap(
                e.driver, e.lap_number, e.lap_time, e.compound,
                pit_in=bool(e.pit_in), pit_out=bool(e.pit_out), track_status=e.track_status,
                deleted=bool(e.deleted),
            )  # fmt: skip
        elif kind == "stint":
            first = e.lap_number if e.lap_number is not None else self.last_lap.get(e.driver, 0) + 1
            self.update_stint(e.driver, e.compound, first)
        elif kind == "weather":
            self.update_weather(e.rainfall, e.track_temp)

    def update_lap(
        self,
        driver: str,
        lap: int,
        lap_time: float | None,
        compound: str | None,
        *,
        pit_in: bool = False,
        pit_out: bool = False,
        track_status: str | None = None,
        deleted: bool = False,
        laps_total: int | None = None,
    ) -> None:
        """A completed lap (a ``LapEvent``'s fields). A lap on another family than the car's
        last also records the tyre change, at the lap before it. A lap not newer than the
        car's last changes nothing (late or repeated)."""
        if lap <= self.last_lap.get(driver, 0):
            return
        self._version += 1
        if laps_total:
            self.laps_total = laps_total
        fam = family_of(compound)
        if fam is not None:
            self._set_family(driver, fam, lap)
        self.last_lap[driver] = max(self.last_lap.get(driver, 0), lap)
        self.lap = max(self.lap, lap)
        clean = (
            fam is not None
            and lap_time is not None
            and np.isfinite(lap_time)
            and lap > 1
            and not (pit_in or pit_out or deleted)
            and not _neutralised(track_status)
        )
        if clean:
            total = self.laps_total or lap
            fc = fuel_corrected(float(lap_time), lap, total)
            self.laps.setdefault(str(lap), []).append([driver, fam, round(fc, 3)])
            self._trim()

    def update_stint(self, driver: str, compound: str | None, first_lap: int) -> None:
        """A tyre change (a ``StintEvent``): ``compound`` from lap ``first_lap`` on."""
        self._version += 1
        fam = family_of(compound)
        if fam is not None:
            self._set_family(driver, fam, first_lap)

    def update_weather(self, rainfall: bool | None = None, track_temp: float | None = None) -> None:
        """A weather sample (a ``WeatherEvent``'s rainfall and track temperature)."""
        self._version += 1
        if rainfall is not None:
            self.rainfall = bool(rainfall)
            if rainfall:
                self.rain_lap = self.lap
        if track_temp is not None:
            self.track_temp = float(track_temp)

    def _set_family(self, driver: str, fam: str, first_lap: int) -> None:
        if first_lap < self.family_from.get(driver, 0):
            return  # the tyres of a lap before the car's last change
        before = self.family.get(driver)
        if before != fam:
            self.family_from[driver] = first_lap
            if before is not None:
                in_lap = first_lap - 1
                self.switches.append([in_lap, driver, before, fam, max(self.lap, in_lap)])
        self.family[driver] = fam

    def _trim(self) -> None:
        oldest = self.lap - KEEP_LAPS
        for key in [k for k in self.laps if int(k) <= oldest]:
            self._fold_dry(int(key))
            del self.laps[key]
        self.switches = [s for s in self.switches if s[0] > oldest]

    def _fold_dry(self, lap: int) -> None:
        """Fold lap ``lap``'s slick field pace into the session's dry reference."""
        if lap < self.dry_folded:
            return
        times = [t for _, f, t in self.laps.get(str(lap), ()) if f == DRY]
        if len(times) >= DRY_REF_MIN_CARS:
            med = statistics.median(times)
            self.own_dry = med if self.own_dry is None else min(self.own_dry, med)
        self.dry_folded = lap + 1

    # -- the estimate ----------------------------------------------------------------------

    def estimate(self, lap: int | None = None, params: WetParams | None = None) -> TrackEstimate:
        """The track at the end of leader lap ``lap`` (default: the highest lap seen), from
        what has been fed so far."""
        p = params or self.params
        at = self.lap if lap is None else lap
        obs = self._observe(at, p.window)
        dry_ref = self.own_dry if self.own_dry is not None else self.dry_reference
        wet, wet_slope = None, 0.0
        if dry_ref:
            pts = [
                (lap_no, wetness_from(f, level / dry_ref - 1.0, p), n)
                for (lap_no, f), (level, n) in obs.lap_levels.items()
            ]
            if pts:
                wet, s = _fit_line(pts, at)
                wet = max(wet, 0.0)
                wet_slope = float(np.clip(s or 0.0, -p.max_slope, p.max_slope))
        wet_slope = self._weather_bound(wet_slope, at)

        families = {}
        for f in FAMILIES:
            model = model_slope = None
            if wet is not None and dry_ref:
                model = dry_ref * (1.0 + slowdown(f, wet, p))
                model_slope = dry_ref * slowdown_slope(f, wet, p) * wet_slope
            if f in obs.observed:
                level, slope, n = obs.observed[f]
                if slope is None or n < p.trend_cars:
                    slope = model_slope if model_slope is not None else 0.0
                if model is not None:
                    w = n / (n + p.prior_cars)
                    level = w * level + (1 - w) * model
                    slope = w * slope + (1 - w) * (model_slope or 0.0)
                cap = p.max_slope * level
                families[f] = FamilyPace(
                    level, float(np.clip(slope, -cap, cap)), obs.cars_on[f], n, "observed"
                )
            elif model is not None:
                families[f] = FamilyPace(model, model_slope or 0.0, obs.cars_on[f], 0, "model")
            else:
                families[f] = FamilyPace(None, 0.0, obs.cars_on[f], 0, "none")

        moves: dict[str, float] = {}
        if obs.running:
            for _, _, src, dst, known in self.switches:
                if at - p.herd_laps < known <= at:
                    key = f"{src}>{dst}"
                    moves[key] = moves.get(key, 0.0) + 1.0 / obs.running
        return TrackEstimate(
            lap=at,
            families=families,
            dry_reference=dry_ref,
            wetness=wet,
            wetness_slope=wet_slope,
            moves=moves,
            running=obs.running,
            params=p,
            rainfall=self.rainfall,
            track_temp=self.track_temp,
        )

    def _observe(self, at: int, window: int) -> _Observation:
        """What the laps fed so far say at leader lap ``at`` (cached until the next input)."""
        key = (at, window, self._version)
        if self._cache.get("key") == key:
            return self._cache["obs"]
        for past in range(self.dry_folded, at):  # laps every car has finished by now
            self._fold_dry(past)
        rows = [
            (int(k), d, f, t)
            for k, entries in self.laps.items()
            if at - KEEP_LAPS < int(k) <= at
            for d, f, t in entries
        ]
        ratios = _car_ratios(rows)
        adjusted: dict[tuple[int, str], list[float]] = {}
        for lap_no, d, f, t in rows:
            if lap_no > at - window:
                adjusted.setdefault((lap_no, f), []).append(t / ratios.get(d, 1.0))
        lap_levels = {k: (statistics.median(v), len(v)) for k, v in adjusted.items()}
        observed = {}
        for f in FAMILIES:
            pts = [(k[0], lv, n) for k, (lv, n) in lap_levels.items() if k[1] == f]
            if pts:
                level, slope = _fit_line(pts, at)
                cars = len({d for lap_no, d, ff, _ in rows if ff == f and lap_no > at - window})
                observed[f] = (level, slope, cars)
        running = [d for d, last in self.last_lap.items() if last >= at - 2]
        obs = _Observation(
            lap_levels=lap_levels,
            observed=observed,
            running=len(running),
            cars_on={f: sum(self.family.get(d) == f for d in running) for f in FAMILIES},
        )
        self._cache = {"key": key, "obs": obs}
        return obs

    def _weather_bound(self, slope: float, at: int) -> float:
        """The weather's say on the wetness trend, when the session has weather."""
        if self.rainfall is None:
            return slope
        if self.rainfall:
            return max(slope, 0.0)  # raining: not drying
        if self.rain_lap is None or at - self.rain_lap >= DRY_AFTER_LAPS:
            return min(slope, 0.0)  # dry for a while: not getting wetter
        return slope

    # -- state -----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in _STATE_FIELDS}
        d["params"] = self.params.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrackConditions:
        kw = {k: d[k] for k in _STATE_FIELDS if k in d}
        return cls(params=WetParams.from_dict(d.get("params", {})), **kw)


_STATE_FIELDS = (
    "laps_total", "dry_reference", "laps", "family", "family_from", "last_lap", "switches",
    "own_dry", "dry_folded", "lap", "rainfall", "rain_lap", "track_temp",
)  # fmt: skip


@dataclass(frozen=True)
class _Observation:
    """The parameter-free part of an estimate: the laps' levels per family."""

    lap_levels: dict[tuple[int, str], tuple[float, int]]  # (lap, family) -> (median, cars)
    observed: dict[str, tuple[float, float | None, int]]  # family -> (level, slope, cars)
    running: int
    cars_on: dict[str, int]


def _car_ratios(rows: Iterable[tuple[int, str, str, float]]) -> dict[str, float]:
    """Each car's usual lap time as a share of the median of the cars on the same family in
    the same lap (its pace, whatever the tyres), from laps with enough cars to compare."""
    groups: dict[tuple[int, str], list[tuple[str, float]]] = {}
    for lap_no, d, f, t in rows:
        groups.setdefault((lap_no, f), []).append((d, t))
    shares: dict[str, list[float]] = {}
    for entries in groups.values():
        if len(entries) < RATIO_MIN_CARS:
            continue
        med = statistics.median(t for _, t in entries)
        for d, t in entries:
            shares.setdefault(d, []).append(t / med)
    lo, hi = CAR_RATIO_CLIP
    return {d: min(max(statistics.median(s), lo), hi) for d, s in shares.items()}
