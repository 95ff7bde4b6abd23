"""Every running car's expected pace over the laps to come, on its tyres and on new sets.

:class:`PaceCurves` holds, per car, its pace now (fuel-corrected seconds per lap) and the
expected departure from it at every tyre age: on the set it runs (``current``) and on a new
set of each compound fitted at a stop (``fresh``). The plan table sums them over stints and
the Monte Carlo races them lap by lap, so both see the same cars. With a trained lap-time
model and the cars' laps (``RaceState.history``) each car's pace now is the model's
prediction from its own laps; without, the compound priors' around its recent pace. The
departures are the compound's offset and linear wear at the circuit, and past a set's life
(``strategy.tyre_life``: the circuit's history, updated with this race's stints) the cliff.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from strategy.compounds import COMPOUND_INDEX, DRY
from strategy.lapfeatures import FieldPace, RaceContext, anchor_features, ols_slope
from strategy.laptime import MAX_AGE
from strategy.race_state import RaceState
from strategy.tyre_life import cliff_cost, race_lives

if TYPE_CHECKING:
    from strategy.artifacts import RaceModels

NEAR = 5  # laps ahead on the current set that the lap-time model predicts
MODEL_LAPS = 3  # clean laps on the current set before the model's pace replaces the priors'
WEAR_PRIOR_SD = 0.03  # s/lap: spread of a set's wear rate around its compound's at the circuit
LAP_NOISE_SD = 0.45  # s: a clean lap around its expectation
_AGES = np.arange(MAX_AGE + 1, dtype=np.float64)


@dataclass
class PaceCurves:
    """Per running car (in ``RaceState.running()`` order): pace and departures by tyre age."""

    pace: np.ndarray  # (n,) fuel-corrected s per lap on the current set now
    age: np.ndarray  # (n,) laps on the current set
    compound: np.ndarray  # (n,) compound index of the current set
    current: np.ndarray  # (n, MAX_AGE + 1) departure (s) at each age of the current set
    fresh: np.ndarray  # (n, len(COMPOUNDS), MAX_AGE + 1) departure on a new set, by age
    #: (n, len(COMPOUNDS)) the part of ``fresh`` that is the compound's pace, not wear
    offset: np.ndarray
    source: str = "priors"  # or "model"
    #: (n, MAX_AGE + 1) the current set's departures as its own laps show its wear, which
    #: plans are timed on; the race is simulated on the compound's (None: ``current``)
    own: np.ndarray | None = None
    #: the expected cliff past each set's life (``strategy.tyre_life``), by age: on the
    #: current set (n, MAX_AGE + 1) and on new sets (n, len(COMPOUNDS), MAX_AGE + 1), on top
    #: of ``current``/``own`` and ``fresh``; None: no cliff
    cliff_current: np.ndarray | None = None
    cliff_fresh: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.pace)

    def cumulative(self) -> tuple[np.ndarray, np.ndarray]:
        """Prefix sums over ages (a leading 0): time of ages [a, b) is ``S[b] - S[a]``."""
        cur = np.concatenate([np.zeros((len(self), 1)), np.cumsum(self.current, axis=1)], 1)
        fresh = np.concatenate(
            [np.zeros((*self.fresh.shape[:2], 1)), np.cumsum(self.fresh, axis=2)], 2
        )
        return cur, fresh

    def for_plans(self) -> tuple[np.ndarray, np.ndarray]:
        """The current set's departures (as its own laps show its wear) and new sets', with
        the cliff: what plans are timed on."""
        current = self.own if self.own is not None else self.current
        fresh = self.fresh
        if self.cliff_current is not None and self.cliff_fresh is not None:
            current, fresh = current + self.cliff_current, fresh + self.cliff_fresh
        return current, fresh

    def for_race(self) -> tuple[np.ndarray, np.ndarray]:
        """``current`` and ``fresh``: what the Monte Carlo races. The cliff stays out of it:
        it times the plans (``for_plans``), and a set run past its expected life is nursed
        rather than thrown off a cliff; raced with the cliff, the back-test's leaders lost
        their win chance on sets that went on to last (RESULTS.md, 2026-12-07)."""
        return self.current, self.fresh

    def next_lap(self) -> np.ndarray:
        """Each car's expected fuel-corrected time on its next lap."""
        k = np.clip(self.age.astype(int) + 1, 0, MAX_AGE)
        return self.pace + self.current[np.arange(len(self)), k]


def pace_curves(state: RaceState, models: RaceModels) -> PaceCurves:
    """The running cars' curves: from the lap-time model when it and the laps are there, with
    the cliff of each set past its life."""
    cars = state.running()
    if (
        models.laptime is not None
        and state.history
        and all(d.driver in state.history and len(state.history[d.driver]) for d in cars)
    ):
        curves = _model_curves(state, models)
    else:
        curves = _prior_curves(state, models)
    memo = state.memo.sets if isinstance(state.memo, PaceMemo) else None
    return _with_cliff(curves, race_lives(models.lives(), state.circuit, state.history, memo))


def _with_cliff(curves: PaceCurves, lives: np.ndarray) -> PaceCurves:
    """``curves`` with the expected cliff of each set past its life (``lives``: [compound]
    -> mean, sd). The current set's pace now shows no cliff yet: its life is longer than
    its age, and only the cliff to come counts."""
    cur = curves.compound
    curves.cliff_current = cliff_cost(
        _AGES[None, :], lives[cur, 0][:, None], lives[cur, 1][:, None], curves.age[:, None]
    )
    on_fresh = cliff_cost(_AGES[None, :], lives[:, 0][:, None], lives[:, 1][:, None])
    curves.cliff_fresh = np.broadcast_to(on_fresh[None, :, :], curves.fresh.shape)
    return curves


def _compounds(state: RaceState) -> list[int]:
    """Compounds a car may be fitted: the dry ones, and those already on track."""
    used = {COMPOUND_INDEX[c] for c in DRY}
    used |= {COMPOUND_INDEX[d.compound] for d in state.running() if d.compound in COMPOUND_INDEX}
    return sorted(used)


def _prior_curves(state: RaceState, models: RaceModels) -> PaceCurves:
    off, slope = (a.astype(np.float64) for a in models.compound_arrays(state.circuit))
    cars = state.running()
    cur = np.array([COMPOUND_INDEX.get(d.compound, 1) for d in cars], np.int64)
    age = np.array([float(d.tyre_age) for d in cars])
    # The car's pace on its current set now, shrunk towards the field (MEDIUM at age 0).
    base = np.full(len(cars), np.nan)
    for i, d in enumerate(cars):
        if d.pace is not None and math.isfinite(d.pace):
            base[i] = d.pace - off[cur[i]] - slope[cur[i]] * age[i]
    known = np.isfinite(base)
    if not known.any():
        base = 90.0 + 0.08 * np.arange(len(cars), dtype=np.float64)
    else:
        med = float(np.median(base[known]))
        base[known] = med + models.pace_shrink * (base[known] - med)
        positions = np.array([d.position for d in cars], np.float64)
        base[~known] = med + 0.08 * (positions[~known] - len(cars) / 2)
    now = off[cur] + slope[cur] * age
    pace = base + now
    current = slope[cur][:, None] * (_AGES[None, :] - age[:, None])
    offset = off[None, :] - off[cur][:, None]
    fresh = (
        offset[:, :, None]
        + slope[None, :, None] * _AGES[None, None, :]
        - (slope[cur] * age)[:, None, None]
    )
    return PaceCurves(pace, age, cur, current, fresh, offset, "priors")


@dataclass(frozen=True)
class _CarPace:
    """What one car's laps say of its pace: kept until the car completes another lap."""

    own: float  # its set's wear rate (s per lap of age), as its laps on the set show it
    base: float  # its pace carried onto a new MEDIUM set (NaN: no clean lap on this kind)
    corr: float | None  # the lap-time model's next laps less the wear (None: too few laps)
    ewm: float  # its recent pace on this set


class PaceMemo:
    """Each car's pace inputs of one session, recomputed only when the car completes a lap
    (the stream worker keeps one per session on its race states; ``RaceState.memo``)."""

    def __init__(self) -> None:
        self.cars: dict[str, tuple[tuple, _CarPace]] = {}
        #: each car's sets (``strategy.tyre_life.race_stints``)
        self.sets: dict[str, tuple] = {}

    def get(self, driver: str, key: tuple) -> _CarPace | None:
        found = self.cars.get(driver)
        return found[1] if found is not None and found[0] == key else None

    def put(self, driver: str, key: tuple, value: _CarPace) -> None:
        self.cars[driver] = (key, value)


def _car_paces(state: RaceState, models: RaceModels, off, slope, cur, age) -> list[_CarPace]:
    """Every running car's ``_CarPace``: from the memo where the car has not run a lap since,
    the others with one batched call of the lap-time model."""
    model = models.laptime
    assert model is not None and state.history is not None
    memo = state.memo if isinstance(state.memo, PaceMemo) else PaceMemo()
    cars = state.running()
    ctx = RaceContext(
        model.circuits.get(models.key(state.circuit), -1), state.laps_total, state.sprint
    )
    fld: FieldPace | None = None
    out: list[_CarPace | None] = [None] * len(cars)
    rows, asked = [], []
    for i, d in enumerate(cars):
        laps = state.history[d.driver]
        last = len(laps) - 1
        key = (len(laps), int(cur[i]), float(age[i]), state.laps_total, models.version)
        found = memo.get(d.driver, key)
        if found is not None:
            out[i] = found
            continue
        own = _stint_wear(laps, last, slope[cur[i]]) if last >= 0 else slope[cur[i]]
        base = _carried_pace(laps, off, slope, cur[i])
        ewm = laps.ewm[last] if last >= 0 else math.nan
        out[i] = _CarPace(own, base, None, ewm)
        if last >= 0 and laps.n_clean[last] >= MODEL_LAPS:
            fld = fld or FieldPace(state.history)
            anchor = anchor_features(laps, d.driver, last, fld, ctx)
            for h in range(1, NEAR + 1):
                rows.append([*anchor, *_target(h, cur[i], age[i] + h, True, state, laps.lap[last])])
            asked.append(i)
        else:
            memo.put(d.driver, key, out[i])
    if rows:
        near = model.delta(np.asarray(rows, np.float64)).reshape(-1, NEAR)
        ahead = np.arange(1, NEAR + 1, dtype=np.float64)
        for k, i in enumerate(asked):
            corr = float((near[k] - slope[cur[i]] * ahead).mean())
            d, prev = cars[i], out[i]
            assert prev is not None
            out[i] = _CarPace(prev.own, prev.base, corr, prev.ewm)
            key = (len(state.history[d.driver]), int(cur[i]), float(age[i]), state.laps_total,
                   models.version)  # fmt: skip
            memo.put(d.driver, key, out[i])
    return [p for p in out if p is not None]


def _model_curves(state: RaceState, models: RaceModels) -> PaceCurves:
    """Each car's pace now from the lap-time model (its next laps, less the wear over them),
    its set's wear (the compound's at this circuit, moved towards what the car's own laps on
    it show), and new sets from the compounds' offsets and wear at this circuit.

    The model's own predictions for later laps and new sets are good lap times but rank plans
    poorly: stints are run as long as the tyres hold, so the wear they show levels off where
    teams stop, and compounds hardly differ once selection is accounted for.
    """
    cars = state.running()
    off, slope = (a.astype(np.float64) for a in models.compound_arrays(state.circuit))
    n = len(cars)
    age = np.array([float(d.tyre_age) for d in cars])
    cur = np.array([COMPOUND_INDEX.get(d.compound, 1) for d in cars], np.int64)
    paces = _car_paces(state, models, off, slope, cur, age)
    wear = np.array([slope[c] for c in cur])  # the compound's, to price the cars alike
    own = np.array([p.own for p in paces])  # the set's: for the laps ahead on it
    carried = np.array([p.base for p in paces])
    pace = np.where(np.isnan(carried), np.nan, carried + off[cur] + wear * age)
    has_model = np.array([p.corr is not None for p in paces])
    if has_model.any():
        # The model's next laps less the set's wear over them: the car's pace now. What the
        # model expects of every car alike (the track, the fuel estimate) is left out, so that
        # cars priced without it (just out of the pits) compare with these.
        corr = np.array([p.corr for p in paces if p.corr is not None])
        ewm = np.array([p.ewm for p in paces if p.corr is not None])
        pace[has_model] = ewm + corr - np.median(corr)
    unknown = np.isnan(pace)
    if unknown.any():  # no clean lap yet: the field's pace, a little slower down the order
        known = pace[~unknown] - off[cur[~unknown]] - (wear * age)[~unknown]
        med = float(np.median(known)) if len(known) else 90.0
        pos = np.array([d.position for d in cars], np.float64)
        pace[unknown] = med + 0.08 * (pos[unknown] - n / 2) + off[cur[unknown]]
    # The Monte Carlo races the cars' paces shrunk towards the field's (a few laps of pace
    # are a noisy estimate of the pace to come); the plans do not depend on it.
    base = pace - off[cur] - wear * age
    med = float(np.median(base))
    pace = med + models.pace_shrink * (base - med) + off[cur] + wear * age
    current = (_AGES[None, :] - age[:, None]) * wear[:, None]
    own_curve = (_AGES[None, :] - age[:, None]) * own[:, None]
    # New sets: the compound's offset and wear at this circuit around the car's pace.
    offset = off[None, :] - off[cur][:, None]
    fresh = (
        offset[:, :, None]
        + slope[None, :, None] * _AGES[None, None, :]
        - (wear * age)[:, None, None]
    )
    return PaceCurves(pace, age, cur, current, fresh, offset, "model", own_curve)


def _stint_wear(laps, i: int, prior: float) -> float:
    """The current set's wear rate: the compound's at this circuit, moved towards the slope of
    the car's own clean laps on it (a normal prior against the laps' evidence)."""
    pts = []
    j = i
    while j >= 0 and laps.stint[j] == laps.stint[i]:
        if not math.isnan(laps.fc[j]) and not math.isnan(laps.tyre_life[j]):
            pts.append((laps.tyre_life[j], laps.fc[j]))
        j -= 1
    if len(pts) < 4:
        return prior
    own, sxx = ols_slope(pts)
    if sxx <= 0:
        return prior
    # Posterior mean of the slope with prior sd WEAR_PRIOR_SD and lap noise LAP_NOISE_SD.
    w_prior, w_own = 1 / WEAR_PRIOR_SD**2, sxx / LAP_NOISE_SD**2
    return float((w_prior * prior + w_own * own) / (w_prior + w_own))


def _carried_pace(laps, off: np.ndarray, slope: np.ndarray, compound: int) -> float:
    """A car's pace on a new MEDIUM set: from its last clean laps (its ``ewm``) less its set's
    wear at that age and the compound's offset (the compound's at this circuit: a car's own
    wear, multiplied by the set's age, would carry its noise into the pace). On
    the set it runs now when it has a clean lap on it, else on the one before (just after a
    stop); NaN before its first clean lap on this kind of tyre (dry, intermediate, wet)."""
    kind = compound if compound >= 3 else 0
    j = len(laps) - 1
    while j >= 0 and math.isnan(laps.ewm[j]):
        j -= 1
    if j < 0:
        return float("nan")
    c = laps.compound[j]
    if c < 0 or (c if c >= 3 else 0) != kind:
        return float("nan")
    age = 0.0 if math.isnan(laps.tyre_life[j]) else laps.tyre_life[j]
    return float(laps.ewm[j] - off[c] - slope[c] * age)


def _target(h: int, compound: int, age: float, same: bool, state: RaceState,
            anchor_lap: int) -> list[float]:  # fmt: skip
    at = anchor_lap + max(h, 1)
    return [float(max(h, 1)), float(compound), float(age), float(same),
            float(max(state.laps_total - at, 0)), at / state.laps_total]  # fmt: skip
