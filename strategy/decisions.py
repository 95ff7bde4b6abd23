"""The decision engine: for every driver, when to pit, onto what, and what it is worth.

``PlanTable`` scores every candidate plan of every car at once (numpy, no per-plan Python):
stay out, one stop at the end of each remaining lap onto each legal compound, two stops onto
each legal pair of dry compounds (two-compound rule in dry races), by expected race time from
each car's pace curves (the lap-time model's, or the compound priors': ``strategy.pace``),
the pit loss (cheaper now under SC/VSC) and an out-lap penalty. The pit window is the set of
laps whose expected time is within noise of the best. The field then races its best plans
in the Monte Carlo simulator (traffic, overtaking, SC/VSC, retirements) for win/podium
probabilities and expected positions, and the gaps to the cars around give undercut/overcut
threats and opportunities. When the track calls for another kind of tyre (slicks,
intermediates, wets: ``strategy.wet``'s crossover advice on the state's track estimate), that
switch is the car's plan.
"""

from __future__ import annotations

import math
import time

import numpy as np

from schemas.derived import DriverStrategy, PitWindow, RejoinProjection
from strategy import hazards
from strategy.artifacts import RaceModels
from strategy.calibration import leader_blend
from strategy.compounds import COMPOUND_INDEX, COMPOUNDS, DRY
from strategy.montecarlo import Field, SimParams, simulate
from strategy.pace import PaceCurves, pace_curves
from strategy.race_state import RaceState
from strategy.rejoin import rejoins
from strategy.wet import DRY as DRY_FAMILY
from strategy.wet import FAMILY_COMPOUND, crossover_lap, family_of

WINDOW_TOLERANCE_S = 1.0  # expected-time margin treated as "within noise" of the best plan
OUT_LAP_PENALTY_S = 1.2  # cold tyres and pit exit on the out-lap


def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _clip(x: float, lo: float = 0.0, hi: float = 1.0) -> float:
    """``np.clip`` for one float (numpy's costs ~10 us a call; recommend() makes ~100)."""
    return min(max(float(x), lo), hi)


MIN_STINT = 5  # laps: shortest stint a two-stop candidate plans
TWO_STOP_SPLITS = (0.35, 0.5, 0.65)  # share of the laps after the first stop run on set two
_DRY_IDX = np.array([COMPOUND_INDEX[c] for c in DRY])
#: Candidate columns: stay out, one stop onto each compound, two stops onto each dry pair.
_SEQ_KIND = [("stay",)] + [("one", c) for c in range(len(COMPOUNDS))]
_SEQ_KIND += [("two", a, b) for a in range(len(DRY)) for b in range(len(DRY))]
_SEQ_STOPS = np.array([len(k) - 1 for k in _SEQ_KIND])
_TAIL_AGES = 120  # ages the stint sums reach (beyond the curves, their last value holds)


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


class PlanTable:
    """Expected remaining race time of every candidate plan of every running car, vectorised.

    Candidates: stay out to the flag; one stop at the end of each remaining lap onto each legal
    compound; two stops (first stop on each lap, the second after a share of the rest) onto
    each legal pair of dry compounds. The two-compound rule holds in dry races (a car that has
    only run one dry compound must fit another). Times come from each car's pace curves
    (:mod:`strategy.pace`: its current set ahead, a new set of each compound) with the wear as
    the teams' stops reveal it (``RaceModels.wear_multiplier``), the pit loss (cheaper on this
    lap under SC/VSC) and an out-lap penalty; traffic and position are left to the Monte
    Carlo. Fuel burn is the same for every plan and left out.
    """

    def __init__(self, state: RaceState, models: RaceModels, curves: PaceCurves | None = None):
        cars = state.running()
        self.cars = cars
        n = len(cars)
        curves = curves if curves is not None else pace_curves(state, models)
        self.curves = curves
        lap, total = state.lap, state.laps_total
        left = max(total - lap, 0)
        pace = curves.pace
        cur = curves.compound
        age = curves.age.astype(np.int64)
        current, fresh = curves.for_plans(models.wear_multiplier(state.circuit))
        cur_sum = _prefix(current)  # (n, A)
        fresh_sum = _prefix(fresh)  # (n, C, A)
        dry = np.array([d.compound in DRY or d.compound == "UNKNOWN" for d in cars])
        used = np.zeros((n, len(COMPOUNDS)), bool)
        for i, d in enumerate(cars):
            for c in (*d.compounds_used, d.compound):
                if c in DRY:
                    used[i, COMPOUND_INDEX[c]] = True
        n_used = used.sum(axis=1)
        loss = models.pit_loss(state.circuit)
        now_loss = models.pit_loss(state.circuit, state.track_status)
        times = np.full((n, len(_SEQ_KIND)), np.inf)

        def on_current(laps: np.ndarray) -> np.ndarray:
            """Time of the next ``laps`` (n, K) laps on the current set."""
            first = (age + 1)[:, None]
            return laps * pace[:, None] + _span(cur_sum, first + 0 * laps, first + laps)

        def on_fresh(laps: np.ndarray) -> np.ndarray:
            """Time of ``laps`` (n, K) laps on a new set of each compound: (n, C, K)."""
            lo = np.ones((n, len(COMPOUNDS), laps.shape[1]), np.int64)
            hi = lo + laps[:, None, :]
            return laps[:, None, :] * pace[:, None, None] + _span(fresh_sum, lo, hi)

        stay = on_current(np.full((n, 1), float(left)))[:, 0]
        times[:, 0] = np.where(~dry | (n_used >= 2) | (left <= 1), stay, np.inf)
        self.pit_laps = np.arange(lap + 1, total)  # one stop at the end of one of these laps
        self.one = np.full((n, len(COMPOUNDS), 0), np.inf)
        self.p1 = np.arange(lap + 1, total - 2 * MIN_STINT)
        self.two = np.full((n, len(DRY), len(DRY), len(TWO_STOP_SPLITS), 0), np.inf)
        if left >= 2:
            first = np.broadcast_to((self.pit_laps - lap).astype(float), (n, len(self.pit_laps)))
            rest = np.broadcast_to((total - self.pit_laps).astype(float), first.shape)
            losses = np.full(first.shape[1], loss + OUT_LAP_PENALTY_S)
            losses[0] = now_loss + OUT_LAP_PENALTY_S
            one = (on_current(first) + losses)[:, None, :] + on_fresh(rest)
            allowed = np.where(
                dry[:, None],
                np.isin(np.arange(len(COMPOUNDS)), _DRY_IDX)[None, :]
                & ~((n_used < 2)[:, None] & used),
                np.arange(len(COMPOUNDS))[None, :] == cur[:, None],
            )
            one[~allowed] = np.inf
            self.one = one
            times[:, 1 : 1 + len(COMPOUNDS)] = one.min(axis=2)
        if len(self.p1) and dry.any():
            p1 = self.p1.astype(float)
            split = np.array(TWO_STOP_SPLITS)[:, None]
            p2 = np.clip(np.round(p1 + (total - p1) * split), p1 + MIN_STINT, total - MIN_STINT)
            losses = np.full(len(p1), 2 * (loss + OUT_LAP_PENALTY_S))
            losses[0] -= loss - now_loss
            s1 = on_current(np.broadcast_to(p1 - lap, (n, len(p1)))) + losses  # (n, P1)
            mid = on_fresh(np.broadcast_to((p2 - p1).reshape(-1), (n, p2.size)))
            end = on_fresh(np.broadcast_to((total - p2).reshape(-1), (n, p2.size)))
            shape = (n, len(COMPOUNDS), len(TWO_STOP_SPLITS), len(p1))
            s2 = mid.reshape(shape)[:, _DRY_IDX]  # (n, 3, R, P1)
            s3 = end.reshape(shape)[:, _DRY_IDX]
            two = s1[:, None, None, None, :] + s2[:, :, None] + s3[:, None, :]
            eye = np.eye(len(DRY), dtype=bool)
            fitted = eye[:, None, :] | eye[None, :, :]  # (c1, c2, compound): sets fitted
            union = used[:, _DRY_IDX][:, None, None, :] | fitted[None]
            ok = dry[:, None, None] & (union.sum(axis=3) >= 2)  # two-compound rule
            ok = ok[:, :, :, None, None]
            two = np.where(ok, two, np.inf)
            self.two = two
            flat = two.reshape(n, len(DRY) * len(DRY), -1).min(axis=2)
            times[:, 1 + len(COMPOUNDS) :] = flat
        self.p2_split = TWO_STOP_SPLITS
        self.total = total
        self.times = times
        self.ranked = np.argsort(times, axis=1, kind="stable")
        self.best_col = self.ranked[:, 0]
        self.best_time = times[np.arange(n), self.best_col]
        other = np.where(
            _SEQ_STOPS[None, :] != _SEQ_STOPS[self.best_col][:, None], times, np.inf
        ).min(axis=1)
        self.margin = np.minimum(other - self.best_time, 30.0)

    def plan(self, i: int, col: int) -> tuple[tuple[int, str], ...]:
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
        kind = _SEQ_KIND[col]
        now = self.cars[i].compound
        if kind[0] == "stay":
            return (now,)
        if kind[0] == "one":
            return (now, COMPOUNDS[kind[1]])
        return (now, DRY[kind[1]], DRY[kind[2]])

    def driver(self, i: int) -> _Plans:
        return _Plans(self, i)


class _Plans:
    """One car's view of the plan table: its best plan, pit window and ranked sequences."""

    def __init__(self, table: PlanTable, i: int) -> None:
        self.table, self.i = table, i
        self.current = table.cars[i].compound
        col = int(table.best_col[i])
        self.best = (float(table.best_time[i]), table.plan(i, col))
        self.margin = float(table.margin[i])

    def window(self) -> PitWindow | None:
        """Laps for the next stop within tolerance of the best plan, if the best plan stops."""
        best_t, best_plan = self.best
        if not best_plan:
            return None
        laps, t = self.table.curve(self.i, int(self.table.best_col[self.i]))
        ok = laps[t - best_t <= WINDOW_TOLERANCE_S]
        if not len(ok):
            ok = np.array([best_plan[0][0]])
        # Built without validation: the stream worker calls this for every car on every lap.
        return PitWindow.model_construct(
            open_lap=int(ok.min()), close_lap=int(ok.max()), best_lap=best_plan[0][0]
        )

    def ranked_sequences(self) -> list[tuple[str, ...]]:
        """Compound sequences (from the current tyre), best first; legal candidates only."""
        t = self.table
        cols = [int(c) for c in t.ranked[self.i] if np.isfinite(t.times[self.i, c])]
        return [t.sequence(self.i, c) for c in cols]


def plans_for(
    state: RaceState, models: RaceModels, curves: PaceCurves | None = None
) -> list[_Plans]:
    """Every running car's candidate plans, in position order."""
    table = PlanTable(state, models, curves)
    return [table.driver(i) for i in range(len(table.cars))]


def simulate_state(
    state: RaceState,
    models: RaceModels,
    plans: list[tuple[tuple[int, str], ...]] | None = None,
    n_sims: int = 1000,
    seed: int = 0,
    noise_sd: float = 0.45,
    curves: PaceCurves | None = None,
):
    """Run the Monte Carlo on ``state`` with the given plans (default: each car's best plan)."""
    cars = state.running()
    curves = curves if curves is not None else pace_curves(state, models)
    if plans is None:
        plans = [p.best[1] for p in plans_for(state, models, curves)]
    off, slope = models.compound_arrays(state.circuit)
    # The chance of a neutralisation on the laps to come (not lap 1, no yellow just now).
    p_sc, p_vsc = models.sc_hazard(state.circuit, state.lap + 2, wet_share(state))
    green = models.pit_loss(state.circuit)
    field = Field.build(
        curves.pace,
        np.array([d.gap_to_leader for d in cars]),
        [d.compound for d in cars],
        curves.age,
        plans,
        curves=curves,
    )
    params = SimParams(
        laps_total=state.laps_total,
        start_lap=state.lap,
        pit_loss=models.pit_loss(state.circuit),
        p_sc=p_sc,
        p_vsc=p_vsc,
        offsets=off,
        slopes=slope,
        noise_sd=noise_sd,
        pace_sd=models.pace_sd if noise_sd > 0 else 0.0,
        pass_delta=models.pass_delta(state.circuit),
        p_dnf=np.array([models.dnf_probability(d.team, state.circuit, state.lap + 2) for d in cars])
        if noise_sd > 0
        else 0.0,
        sc_laps_left=3 if state.track_status in ("sc", "red") else 0,
        vsc_laps_left=2 if state.track_status in ("vsc", "vsc_ending") else 0,
        sc_pit_factor=models.pit_loss(state.circuit, "sc") / green if green else 0.45,
        vsc_pit_factor=models.pit_loss(state.circuit, "vsc") / green if green else 0.65,
    )
    return simulate(field, params, n_sims, seed)


def wet_share(state: RaceState) -> float:
    """Share of the running cars on intermediates or wets."""
    cars = state.running()
    return sum(d.compound in ("INTERMEDIATE", "WET") for d in cars) / len(cars) if cars else 0.0


def fresh_gain(curves: PaceCurves, i: int, compound: str) -> float:
    """Seconds car ``i`` gains over the two laps after a stop onto ``compound`` against two
    more laps on its current set (out-lap penalty included)."""
    a = int(curves.age[i])
    c = COMPOUND_INDEX[compound]
    top = curves.current.shape[1] - 1
    old = curves.current[i, min(a + 1, top)] + curves.current[i, min(a + 2, top)]
    new = curves.fresh[i, c, 1] + curves.fresh[i, c, 2]
    return float(old - new) - OUT_LAP_PENALTY_S


def wet_plans(state: RaceState, models: RaceModels) -> dict[int, tuple[float, int, str]]:
    """Cars (by index into ``state.running()``) that should change tyre family: the seconds
    the switch gains to the flag after the pit loss, its in-lap and the tyre to fit.

    The crossover advice of :mod:`strategy.wet` on the track estimate the state carries
    (each family's pace now and its trend, the field's moves); empty when the state has none.
    """
    if state.wet is None:
        return {}
    loss = models.pit_loss(state.circuit, state.track_status)
    by_family = {}  # the advice depends on a car only through its family
    out = {}
    for i, d in enumerate(state.running()):
        family = family_of(d.compound) or DRY_FAMILY
        if family not in by_family:
            by_family[family] = crossover_lap(state.wet, family, state.laps_left, loss)
        advice = by_family[family]
        if advice.family is not None and advice.lap is not None:
            out[i] = (advice.gain, advice.lap, FAMILY_COMPOUND[advice.family])
    return out


def recommend(
    state: RaceState, models: RaceModels, n_sims: int = 500, seed: int | None = None
) -> list[DriverStrategy]:
    """One recommendation per running car, in position order; see the module docstring."""
    cars = state.running()
    if not cars:
        return []
    started = time.perf_counter()
    curves = pace_curves(state, models)
    plans = plans_for(state, models, curves)
    # A change of tyre family (slicks, intermediates, wets) the track calls for comes first:
    # the plan table only plans stops onto the kind of tyre a car is on.
    wet = wet_plans(state, models)
    best = [((wet[i][1], wet[i][2]),) if i in wet else p.best[1] for i, p in enumerate(plans)]
    seed = int(started * 1e6) % (2**31) if seed is None else seed
    result = simulate_state(state, models, best, n_sims, seed, curves=curves)
    win, podium, expected = result.win_prob(), result.podium_prob(), result.expected_position()
    win = leader_blend(win, models.win_blend)
    median = result.median_position()
    projections = rejoins(
        state,
        {status: models.pit_loss(state.circuit, status) for status in ("green", "sc", "vsc")},
        models.pit_out_share(state.circuit),
    )
    moves = _moves_fitted if models.fitted is not None else _moves_formula
    out = []
    for i, (d, p) in enumerate(zip(cars, plans, strict=True)):
        best_plan = best[i]
        window = p.window()
        confidence = _clip(1 - math.exp(-p.margin / 2.0), 0.05, 0.99)
        if i in wet:
            gain, in_lap, _ = wet[i]
            window = PitWindow.model_construct(open_lap=in_lap, close_lap=in_lap, best_lap=in_lap)
            confidence = _clip(1 - math.exp(-gain / 2.0), 0.05, 0.99)
        next_comp = best_plan[0][1] if best_plan else None
        under_opp, over_opp, under_threat, over_threat = moves(
            state, models, curves, plans, i, confidence
        )
        pit_under_sc = None
        if state.track_status in ("sc", "vsc", "vsc_ending", "red"):
            pit_under_sc = bool(best_plan) and best_plan[0][0] == state.lap + 1
        out.append(
            DriverStrategy.model_construct(  # our own numbers: no validation on the hot path
                driver=d.driver,
                position=d.position,
                compound=d.compound,
                tyre_age=float(d.tyre_age),
                stops=d.stops,
                pit_window=window,
                recommended_compound=next_comp,
                stay_out=not best_plan,
                pit_now=bool(best_plan) and best_plan[0][0] == state.lap + 1,
                pit_under_sc=pit_under_sc,
                undercut_threat=round(_clip(under_threat), 4),
                undercut_opportunity=round(_clip(under_opp), 4),
                overcut_threat=round(_clip(over_threat), 4),
                overcut_opportunity=round(_clip(over_opp), 4),
                win_prob=float(win[i]),
                podium_prob=float(podium[i]),
                expected_position=round(float(expected[i]), 3),
                predicted_position=round(float(median[i])),
                confidence=round(confidence, 3),
                rejoin=[RejoinProjection.model_construct(**vars(r)) for r in projections[i]],
            )
        )
    return out


def _next_compound(plan: _Plans) -> str | None:
    return plan.best[1][0][1] if plan.best[1] else None


def _moves_fitted(
    state: RaceState,
    models: RaceModels,
    curves: PaceCurves,
    plans: list[_Plans],
    i: int,
    confidence: float,
) -> tuple[float, float, float, float]:
    """Undercut/overcut opportunity on the car ahead and threat from the car behind, from the
    calibrated models fitted on real attempts (``strategy.hazards``): (undercut opportunity,
    overcut opportunity, undercut threat, overcut threat)."""
    h = models.fitted
    assert h is not None
    cars, c = state.running(), state.circuit
    d = cars[i]
    # recent pace as the models were fitted on (median of the last clean laps; 0 if unknown)
    pace = [x.pace if x.pace is not None and math.isfinite(x.pace) else math.nan for x in cars]
    pace = [0.0 if math.isnan(x) else x for x in pace] if any(map(math.isnan, pace)) else pace
    under_opp = over_opp = under_threat = over_threat = 0.0
    mine = _next_compound(plans[i])
    if i > 0:
        ahead, gap = cars[i - 1], d.gap_to_leader - cars[i - 1].gap_to_leader
        if mine:  # this car pits now, the one ahead stays out
            under_opp = hazards.undercut_probability(
                h, gap, ahead.tyre_age, hazards.compound_delta(ahead.compound, mine),
                pace[i] - pace[i - 1], c,
            )  # fmt: skip
        theirs = _next_compound(plans[i - 1])
        if theirs:  # the one ahead pits, this car stays out
            over_opp = hazards.overcut_probability(
                h, gap, d.tyre_age, hazards.compound_delta(d.compound, theirs),
                pace[i] - pace[i - 1], c,
            )  # fmt: skip
    if i + 1 < len(cars):
        behind, gap = cars[i + 1], cars[i + 1].gap_to_leader - d.gap_to_leader
        theirs = _next_compound(plans[i + 1])
        if theirs:  # the car behind pits now, this car stays out
            under_threat = hazards.undercut_probability(
                h, gap, d.tyre_age, hazards.compound_delta(d.compound, theirs),
                pace[i + 1] - pace[i], c,
            )  # fmt: skip
        if mine:  # this car pits, the one behind stays out
            over_threat = hazards.overcut_probability(
                h, gap, behind.tyre_age, hazards.compound_delta(behind.compound, mine),
                pace[i + 1] - pace[i], c,
            )  # fmt: skip
    return under_opp, over_opp, under_threat, over_threat


def _moves_formula(
    state: RaceState,
    models: RaceModels,
    curves: PaceCurves,
    plans: list[_Plans],
    i: int,
    confidence: float,
) -> tuple[float, float, float, float]:
    """The same without fitted models (no trained artifact): rules of thumb on the gap and
    the fresh tyres' gain over two laps."""
    cars = state.running()
    d = cars[i]
    mine = _next_compound(plans[i])
    under_opp = over_opp = under_threat = over_threat = 0.0
    if i > 0:
        gap = d.gap_to_leader - cars[i - 1].gap_to_leader
        if mine:
            under_opp = _phi(fresh_gain(curves, i, mine) - gap)
        over_opp = _phi(OUT_LAP_PENALTY_S + 0.5 - gap) * (1 - confidence) * 0.5
    if i + 1 < len(cars):
        gap = cars[i + 1].gap_to_leader - d.gap_to_leader
        theirs = _next_compound(plans[i + 1])
        if theirs:
            soon = plans[i + 1].best[1][0][0] - state.lap <= 5
            under_threat = _phi(fresh_gain(curves, i + 1, theirs) - gap) * (1.0 if soon else 0.4)
        over_threat = _phi(OUT_LAP_PENALTY_S + 0.5 - gap) * 0.3
    return under_opp, over_opp, under_threat, over_threat
