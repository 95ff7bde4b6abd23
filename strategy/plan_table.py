"""Every candidate plan of every running car, scored at once by expected race time (numpy).

Candidates: stay out to the flag; one stop at the end of each remaining lap onto each legal
compound; two stops (the first on each lap, the second after a share of the rest) onto each
legal pair of dry compounds. The two-compound rule holds in dry races (a car that has only run
one dry compound must fit another). Times come from each car's pace curves
(:mod:`strategy.pace`: its current set ahead, a new set of each compound, each with the cliff
past its life as the evidence shows it), the pit loss (cheaper on this lap under SC/VSC) and
an out-lap penalty; traffic and position are left to the Monte Carlo. Fuel
burn is the same for every plan and left out. The pit window is the set of laps whose expected
time is within ``WINDOW_TOLERANCE_S`` of the best.
"""

from __future__ import annotations

import numpy as np

from strategy.advice import Window
from strategy.artifacts import RaceModels
from strategy.compounds import COMPOUND_INDEX, COMPOUNDS, DRY
from strategy.pace import PaceCurves, pace_curves
from strategy.race_state import DriverState, RaceState

WINDOW_TOLERANCE_S = 1.0  # expected-time margin treated as "within noise" of the best plan
OUT_LAP_PENALTY_S = 1.2  # cold tyres and pit exit on the out-lap
MIN_STINT = 5  # laps: shortest stint a two-stop candidate plans
TWO_STOP_SPLITS = (0.35, 0.5, 0.65)  # share of the laps after the first stop run on set two
_DRY_IDX = np.array([COMPOUND_INDEX[c] for c in DRY])
#: Candidate columns: stay out, one stop onto each compound, two stops onto each dry pair.
_SEQ_KIND = [("stay",)] + [("one", c) for c in range(len(COMPOUNDS))]
_SEQ_KIND += [("two", a, b) for a in range(len(DRY)) for b in range(len(DRY))]
_SEQ_STOPS = np.array([len(k) - 1 for k in _SEQ_KIND])
_TAIL_AGES = 120  # ages the stint sums reach (beyond the curves, their last value holds)
#: Seconds a plan is worth per nat of the teams' habit (``strategy.plan_prior``): how much a
#: sequence teams run here is preferred to one they do not, at equal time
PRIOR_S_PER_NAT = 20.0

Plan = tuple[tuple[int, str], ...]


def _prefix(curves: np.ndarray) -> np.ndarray:
    """Prefix sums over the last axis (ages), extended to ``_TAIL_AGES`` with the last value:
    the time of ages [a, b) is ``S[..., b] - S[..., a]``."""
    pad = _TAIL_AGES + 1 - curves.shape[-1]
    ext = np.concatenate([curves, np.repeat(curves[..., -1:], max(pad, 0), axis=-1)], -1)
    zero = np.zeros((*ext.shape[:-1], 1))
    return np.concatenate([zero, np.cumsum(ext, axis=-1)], -1)


def _span(prefix: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``prefix[..., hi] - prefix[..., lo]`` along the last axis (ages clipped to the table)."""
    top = prefix.shape[-1] - 1
    hi = np.clip(hi, 0, top).astype(np.int64)
    lo = np.clip(lo, 0, top).astype(np.int64)
    return np.take_along_axis(prefix, hi, -1) - np.take_along_axis(prefix, lo, -1)


def _sets_run(state: RaceState, d: DriverState) -> tuple[str, ...]:
    """The compounds of the sets the car ran before its current one, in order."""
    laps = state.history.get(d.driver) if state.history else None
    if not laps or not len(laps):
        return tuple(c for c in d.compounds_used if c != d.compound)[: d.stops]
    out: list[str] = []
    for k in range(len(laps) - 1):
        if laps.stint[k + 1] != laps.stint[k] and 0 <= laps.compound[k] < len(COMPOUNDS):
            out.append(COMPOUNDS[laps.compound[k]])
    return tuple(out)


def _dry_compounds_used(cars: list[DriverState]) -> np.ndarray:
    """[car, compound]: the dry compounds each car has run (its current set included)."""
    used = np.zeros((len(cars), len(COMPOUNDS)), bool)
    for i, d in enumerate(cars):
        for c in (*d.compounds_used, d.compound):
            if c in DRY:
                used[i, COMPOUND_INDEX[c]] = True
    return used


class PlanTable:
    """Expected remaining race time of every candidate plan of every running car, vectorised
    (see the module docstring). ``times[car, column]`` is the best time of each candidate
    column (``_SEQ_KIND``); ``one`` and ``two`` keep the time of every stop lap."""

    def __init__(self, state: RaceState, models: RaceModels, curves: PaceCurves | None = None):
        self.cars = state.running()
        self.curves = curves if curves is not None else pace_curves(state, models)
        self.lap, self.total = state.lap, state.laps_total
        current, fresh = self.curves.for_plans()
        self._current_sum = _prefix(current)  # (car, age)
        self._fresh_sum = _prefix(fresh)  # (car, compound, age)
        n = len(self.cars)
        self.dry = np.array([d.compound in DRY or d.compound == "UNKNOWN" for d in self.cars])
        self.used = _dry_compounds_used(self.cars)
        self.loss = models.pit_loss(state.circuit)
        self.now_loss = models.pit_loss(state.circuit, state.track_status)
        self.pit_laps = np.arange(self.lap + 1, self.total)  # one stop at the end of one of these
        self.p1 = np.arange(self.lap + 1, self.total - 2 * MIN_STINT)
        self.p2_split = TWO_STOP_SPLITS
        times = np.full((n, len(_SEQ_KIND)), np.inf)
        times[:, 0] = self._stay_out()
        self.one = self._one_stop()
        if self.one.shape[2]:
            times[:, 1 : 1 + len(COMPOUNDS)] = self.one.min(axis=2)
        self.two = self._two_stops()
        if self.two.shape[4]:
            times[:, 1 + len(COMPOUNDS) :] = self.two.reshape(n, len(DRY) ** 2, -1).min(axis=2)
        self.times = times
        score = times - PRIOR_S_PER_NAT * self._habit(state, models)
        self.ranked = np.argsort(score, axis=1, kind="stable")
        self.best_col = self.ranked[:, 0]
        self.best_time = times[np.arange(n), self.best_col]
        best_score = score[np.arange(n), self.best_col]
        other_stops = _SEQ_STOPS[None, :] != _SEQ_STOPS[self.best_col][:, None]
        other = np.where(other_stops, score, np.inf).min(axis=1)
        self.margin = np.minimum(other - best_score, 30.0)

    def _habit(self, state: RaceState, models: RaceModels) -> np.ndarray:
        """(car, column): log-probability of the whole sequence (sets run, then the column's)
        among what teams ran at the circuit; 0 without a plan prior."""
        out = np.zeros((len(self.cars), len(_SEQ_KIND)))
        prior = models.plan_prior
        if prior is None:
            return out
        for i, d in enumerate(self.cars):
            past = _sets_run(state, d)
            for col, kind in enumerate(_SEQ_KIND):
                if kind[0] == "two" and not self.dry[i]:
                    continue
                out[i, col] = prior.log_prob(state.circuit, past + self.sequence(i, col))
        return out

    def _on_current(self, laps: np.ndarray) -> np.ndarray:
        """Time of the next ``laps`` (car, K) laps on each car's current set."""
        first = (self.curves.age.astype(np.int64) + 1)[:, None]
        wear = _span(self._current_sum, first + 0 * laps, first + laps)
        return laps * self.curves.pace[:, None] + wear

    def _on_fresh(self, laps: np.ndarray) -> np.ndarray:
        """Time of ``laps`` (car, K) laps on a new set of each compound: (car, compound, K)."""
        lo = np.ones((len(self.cars), len(COMPOUNDS), laps.shape[1]), np.int64)
        hi = lo + laps[:, None, :]
        wear = _span(self._fresh_sum, lo, hi)
        return laps[:, None, :] * self.curves.pace[:, None, None] + wear

    def _stay_out(self) -> np.ndarray:
        """Each car's time to the flag on its current set (inf where the rules forbid it)."""
        left = max(self.total - self.lap, 0)
        stay = self._on_current(np.full((len(self.cars), 1), float(left)))[:, 0]
        allowed = ~self.dry | (self.used.sum(axis=1) >= 2) | (left <= 1)
        return np.where(allowed, stay, np.inf)

    def _one_stop(self) -> np.ndarray:
        """(car, compound, stop lap): one stop at the end of each lap of ``pit_laps``."""
        n = len(self.cars)
        if self.total - self.lap < 2:
            return np.full((n, len(COMPOUNDS), 0), np.inf)
        shape = (n, len(self.pit_laps))
        first = np.broadcast_to((self.pit_laps - self.lap).astype(float), shape)
        rest = np.broadcast_to((self.total - self.pit_laps).astype(float), shape)
        losses = np.full(shape[1], self.loss + OUT_LAP_PENALTY_S)
        losses[0] = self.now_loss + OUT_LAP_PENALTY_S
        one = (self._on_current(first) + losses)[:, None, :] + self._on_fresh(rest)
        compounds = np.arange(len(COMPOUNDS))
        one_compound_only = (self.used.sum(axis=1) < 2)[:, None] & self.used
        allowed = np.where(
            self.dry[:, None],
            np.isin(compounds, _DRY_IDX)[None, :] & ~one_compound_only,
            compounds[None, :] == self.curves.compound[:, None],
        )
        one[~allowed] = np.inf
        return one

    def _two_stops(self) -> np.ndarray:
        """(car, first dry compound, second, split, first stop lap): two stops onto dry
        compounds, the second after a share ``TWO_STOP_SPLITS`` of the laps left."""
        n = len(self.cars)
        if not len(self.p1) or not self.dry.any():
            return np.full((n, len(DRY), len(DRY), len(TWO_STOP_SPLITS), 0), np.inf)
        p1 = self.p1.astype(float)
        split = np.array(TWO_STOP_SPLITS)[:, None]
        p2 = np.clip(
            np.round(p1 + (self.total - p1) * split), p1 + MIN_STINT, self.total - MIN_STINT
        )
        losses = np.full(len(p1), 2 * (self.loss + OUT_LAP_PENALTY_S))
        losses[0] -= self.loss - self.now_loss
        stint1 = self._on_current(np.broadcast_to(p1 - self.lap, (n, len(p1)))) + losses
        mid = self._on_fresh(np.broadcast_to((p2 - p1).reshape(-1), (n, p2.size)))
        end = self._on_fresh(np.broadcast_to((self.total - p2).reshape(-1), (n, p2.size)))
        shape = (n, len(COMPOUNDS), len(TWO_STOP_SPLITS), len(p1))
        stint2 = mid.reshape(shape)[:, _DRY_IDX]  # (car, compound, split, P1)
        stint3 = end.reshape(shape)[:, _DRY_IDX]
        two = stint1[:, None, None, None, :] + stint2[:, :, None] + stint3[:, None, :]
        eye = np.eye(len(DRY), dtype=bool)
        fitted = eye[:, None, :] | eye[None, :, :]  # (c1, c2, compound): sets fitted
        union = self.used[:, _DRY_IDX][:, None, None, :] | fitted[None]
        legal = self.dry[:, None, None] & (union.sum(axis=3) >= 2)  # two-compound rule
        return np.where(legal[:, :, :, None, None], two, np.inf)

    def plan(self, i: int, col: int) -> Plan:
        """The best stops of car ``i`` for candidate column ``col``."""
        kind = _SEQ_KIND[col]
        if kind[0] == "stay":
            return ()
        if kind[0] == "one":
            k = int(np.argmin(self.one[i, kind[1]]))
            return ((int(self.pit_laps[k]), COMPOUNDS[kind[1]]),)
        r, k = np.unravel_index(int(np.argmin(self.two[i, kind[1], kind[2]])), self.two.shape[3:])
        p1 = int(self.p1[k])
        p2 = int(np.clip(round(p1 + (self.total - p1) * self.p2_split[r]), p1 + MIN_STINT,
                         self.total - MIN_STINT))  # fmt: skip
        return ((p1, DRY[kind[1]]), (p2, DRY[kind[2]]))

    def curve(self, i: int, col: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Laps of the next stop and the expected time of stopping there, for column ``col``."""
        kind = _SEQ_KIND[col]
        if kind[0] == "one":
            return self.pit_laps, self.one[i, kind[1]]
        if kind[0] == "two":
            return self.p1, self.two[i, kind[1], kind[2]].min(axis=0)
        return None

    def sequence(self, i: int, col: int) -> tuple[str, ...]:
        """The compounds car ``i`` runs from now under candidate column ``col``."""
        kind = _SEQ_KIND[col]
        now = self.cars[i].compound
        if kind[0] == "stay":
            return (now,)
        if kind[0] == "one":
            return (now, COMPOUNDS[kind[1]])
        return (now, DRY[kind[1]], DRY[kind[2]])

    def driver(self, i: int) -> CarPlans:
        return CarPlans(self, i)


class CarPlans:
    """One car's view of the plan table: its best plan, pit window and ranked sequences."""

    def __init__(self, table: PlanTable, i: int) -> None:
        self.table, self.i = table, i
        self.current = table.cars[i].compound
        col = int(table.best_col[i])
        self.best = (float(table.best_time[i]), table.plan(i, col))
        self.margin = float(table.margin[i])

    def window(self) -> Window | None:
        """Laps for the next stop within tolerance of the best plan, if the best plan stops."""
        best_t, best_plan = self.best
        if not best_plan:
            return None
        laps, t = self.table.curve(self.i, int(self.table.best_col[self.i]))
        ok = laps[t - best_t <= WINDOW_TOLERANCE_S]
        if not len(ok):
            ok = np.array([best_plan[0][0]])
        return Window(int(ok.min()), int(ok.max()), int(best_plan[0][0]))

    def ranked_sequences(self) -> list[tuple[str, ...]]:
        """Compound sequences (from the current tyre), best first; legal candidates only."""
        t = self.table
        cols = [int(c) for c in t.ranked[self.i] if np.isfinite(t.times[self.i, c])]
        return [t.sequence(self.i, c) for c in cols]

    def next_compound(self) -> str | None:
        """The compound the best plan fits at its next stop (None: it stays out)."""
        return self.best[1][0][1] if self.best[1] else None


def plans_for(
    state: RaceState, models: RaceModels, curves: PaceCurves | None = None
) -> list[CarPlans]:
    """Every running car's candidate plans, in position order."""
    table = PlanTable(state, models, curves)
    return [table.driver(i) for i in range(len(table.cars))]
