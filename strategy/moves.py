"""Undercut and overcut: each car's chance to gain on the car ahead by stopping first (or by
staying out), and the same threats from the car behind, for the decision engine."""

from __future__ import annotations

import math

from strategy import hazards
from strategy.artifacts import RaceModels
from strategy.compounds import COMPOUND_INDEX
from strategy.pace import PaceCurves
from strategy.plan_table import OUT_LAP_PENALTY_S, CarPlans
from strategy.race_state import RaceState

#: (undercut opportunity, overcut opportunity, undercut threat, overcut threat)
Moves = tuple[float, float, float, float]
#: A move is on when the car that would make it plans its stop within this many laps: a
#: threat from a car that will not stop for ten laps is no call.
SOON_LAPS = 2


def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def fresh_gain(curves: PaceCurves, i: int, compound: str) -> float:
    """Seconds car ``i`` gains over the two laps after a stop onto ``compound`` against two
    more laps on its current set (out-lap penalty included)."""
    a = int(curves.age[i])
    c = COMPOUND_INDEX[compound]
    top = curves.current.shape[1] - 1
    old = curves.current[i, min(a + 1, top)] + curves.current[i, min(a + 2, top)]
    new = curves.fresh[i, c, 1] + curves.fresh[i, c, 2]
    return float(old - new) - OUT_LAP_PENALTY_S


def fitted_moves(
    state: RaceState,
    models: RaceModels,
    curves: PaceCurves,
    plans: list[CarPlans],
    i: int,
    confidence: float,
    cars: list | None = None,
    pace: list[float] | None = None,
) -> Moves:
    """Undercut/overcut opportunity on the car ahead and threat from the car behind, from the
    calibrated models fitted on real attempts (``strategy.hazards``): (undercut opportunity,
    overcut opportunity, undercut threat, overcut threat). A move counts only when the car
    that would make it plans its stop within ``SOON_LAPS``. ``cars`` and ``pace``: the
    running cars and ``recent_paces`` of them, when the caller has them for every car."""
    h = models.fitted
    assert h is not None
    cars = cars if cars is not None else state.running()
    pace = pace if pace is not None else recent_paces(cars)
    c = state.circuit
    d = cars[i]
    under_opp = over_opp = under_threat = over_threat = 0.0
    mine = _soon(plans[i], state.lap)
    if i > 0:
        ahead, gap = cars[i - 1], d.gap_to_leader - cars[i - 1].gap_to_leader
        if mine:  # this car pits now, the one ahead stays out
            under_opp = hazards.undercut_probability(
                h, gap, ahead.tyre_age, hazards.compound_delta(ahead.compound, mine),
                pace[i] - pace[i - 1], c,
            )  # fmt: skip
        theirs = _soon(plans[i - 1], state.lap)
        if theirs:  # the one ahead pits, this car stays out
            over_opp = hazards.overcut_probability(
                h, gap, d.tyre_age, hazards.compound_delta(d.compound, theirs),
                pace[i] - pace[i - 1], c,
            )  # fmt: skip
    if i + 1 < len(cars):
        behind, gap = cars[i + 1], cars[i + 1].gap_to_leader - d.gap_to_leader
        theirs = _soon(plans[i + 1], state.lap)
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


def recent_paces(cars: list) -> list[float]:
    """Each car's recent pace as the fitted models take it (0 for every car when one is
    unknown: the deltas are then 0)."""
    pace = [x.pace if x.pace is not None and math.isfinite(x.pace) else math.nan for x in cars]
    return [0.0 if math.isnan(x) else x for x in pace] if any(map(math.isnan, pace)) else pace


def _soon(plan: CarPlans, lap: int) -> str | None:
    """The compound the car fits at its next stop, if that stop is within ``SOON_LAPS``."""
    stops = plan.best[1]
    return stops[0][1] if stops and stops[0][0] - lap <= SOON_LAPS else None


def formula_moves(
    state: RaceState,
    models: RaceModels,
    curves: PaceCurves,
    plans: list[CarPlans],
    i: int,
    confidence: float,
    cars: list | None = None,
    pace: list[float] | None = None,
) -> Moves:
    """The same without fitted models (no trained artifact): rules of thumb on the gap and
    the fresh tyres' gain over two laps."""
    cars = cars if cars is not None else state.running()
    d = cars[i]
    mine = plans[i].next_compound()
    under_opp = over_opp = under_threat = over_threat = 0.0
    if i > 0:
        gap = d.gap_to_leader - cars[i - 1].gap_to_leader
        if mine:
            under_opp = _phi(fresh_gain(curves, i, mine) - gap)
        over_opp = _phi(OUT_LAP_PENALTY_S + 0.5 - gap) * (1 - confidence) * 0.5
    if i + 1 < len(cars):
        gap = cars[i + 1].gap_to_leader - d.gap_to_leader
        theirs = plans[i + 1].next_compound()
        if theirs:
            soon = plans[i + 1].best[1][0][0] - state.lap <= 5
            under_threat = _phi(fresh_gain(curves, i + 1, theirs) - gap) * (1.0 if soon else 0.4)
        over_threat = _phi(OUT_LAP_PENALTY_S + 0.5 - gap) * 0.3
    return under_opp, over_opp, under_threat, over_threat
