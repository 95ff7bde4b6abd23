"""The decision engine: for every driver, when to pit, onto what, and what it is worth.

``recommend`` puts the parts together: each car's pace curves (``strategy.pace``), its best
plan and pit window from the plan table (``strategy.plan_table``: every candidate plan of
every car scored at once), the field racing those plans in the Monte Carlo
(``strategy.simulation``: traffic, overtaking, SC/VSC, retirements) for win/podium chances
and expected positions, where each car would rejoin (``strategy.rejoin``), and the
undercut/overcut threats and opportunities around it (``strategy.moves``). When the track
calls for another kind of tyre (slicks, intermediates, wets: ``strategy.wet``'s crossover
advice on the state's track estimate), that switch is the car's plan.
"""

from __future__ import annotations

import math
import time

from strategy.advice import Advice, Window
from strategy.artifacts import RaceModels
from strategy.moves import fitted_moves, formula_moves, recent_paces
from strategy.pace import pace_curves
from strategy.plan_table import CarPlans, Plan, plans_for
from strategy.race_state import RaceState
from strategy.rejoin import rejoins
from strategy.settled_order import at_progress, lean, lean_win, settled_gaps, settled_ranks
from strategy.simulation import simulate_state
from strategy.wet import DRY as DRY_FAMILY
from strategy.wet import FAMILY_COMPOUND, crossover_lap, family_of


def _clip(x: float, lo: float = 0.0, hi: float = 1.0) -> float:
    """``np.clip`` for one float (numpy's costs ~10 us a call; recommend() makes ~100)."""
    return min(max(float(x), lo), hi)


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


def best_plans(plans: list[CarPlans], wet: dict[int, tuple[float, int, str]]) -> list[Plan]:
    """Each car's plan: the change of tyre family the track calls for (``wet_plans``), else
    the plan table's best."""
    return [((wet[i][1], wet[i][2]),) if i in wet else p.best[1] for i, p in enumerate(plans)]


def recommend(
    state: RaceState, models: RaceModels, n_sims: int = 500, seed: int | None = None
) -> list[Advice]:
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
    best = best_plans(plans, wet)
    seed = int(started * 1e6) % (2**31) if seed is None else seed
    result = simulate_state(state, models, best, n_sims, seed, curves=curves)
    green = models.pit_loss(state.circuit)
    settled = settled_gaps(state, best, green, models.pit_out_share(state.circuit))
    ranks = settled_ranks(settled)
    done = state.lap / max(state.laps_total, 1)
    win = lean_win(result.win_prob(), settled, at_progress(models.win_lean, done))
    pos_lean = at_progress(models.position_lean, done)
    podium = result.podium_prob()
    expected = lean(result.expected_position(), ranks, pos_lean)
    median = lean(result.median_position().astype(float), ranks, pos_lean)
    projections = rejoins(
        state,
        {status: models.pit_loss(state.circuit, status) for status in ("green", "sc", "vsc")},
        models.pit_out_share(state.circuit),
    )
    moves = fitted_moves if models.fitted is not None else formula_moves
    paces = recent_paces(cars)
    out = []
    for i, (d, p) in enumerate(zip(cars, plans, strict=True)):
        best_plan = best[i]
        window = p.window()
        confidence = _clip(1 - math.exp(-p.margin / 2.0), 0.05, 0.99)
        if i in wet:
            gain, in_lap, _ = wet[i]
            window = Window(in_lap, in_lap, in_lap)
            confidence = _clip(1 - math.exp(-gain / 2.0), 0.05, 0.99)
        next_comp = best_plan[0][1] if best_plan else None
        under_opp, over_opp, under_threat, over_threat = moves(
            state, models, curves, plans, i, confidence, cars, paces
        )
        pit_under_sc = None
        if state.track_status in ("sc", "vsc", "vsc_ending", "red"):
            pit_under_sc = bool(best_plan) and best_plan[0][0] == state.lap + 1
        out.append(
            Advice(
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
                rejoin=projections[i],
            )
        )
    return out
