"""A race state's plans raced in the Monte Carlo: the field, the circuit's hazards and the
simulator's parameters built from the state and the race models (``strategy.montecarlo``)."""

from __future__ import annotations

import numpy as np

from strategy.artifacts import RaceModels
from strategy.montecarlo import Field, SimParams, SimResult, simulate
from strategy.pace import PaceCurves, pace_curves
from strategy.plan_table import Plan, plans_for
from strategy.race_state import RaceState


def simulate_state(
    state: RaceState,
    models: RaceModels,
    plans: list[Plan] | None = None,
    n_sims: int = 1000,
    seed: int = 0,
    noise_sd: float | None = None,
    curves: PaceCurves | None = None,
) -> SimResult:
    """Run the Monte Carlo on ``state`` with the given plans (default: each car's best plan).
    ``noise_sd``: a clean lap's noise (default: the learned one; 0: no randomness at all)."""
    noise_sd = models.lap_noise_sd if noise_sd is None else noise_sd
    cars = state.running()
    curves = curves if curves is not None else pace_curves(state, models)
    if plans is None:
        plans = [p.best[1] for p in plans_for(state, models, curves)]
    off, slope = models.compound_arrays(state.circuit)
    # The chance of a neutralisation on the laps to come (not lap 1, no yellow just now).
    p_sc, p_vsc = models.sc_hazard(state.circuit, state.lap + 2, wet_share(state))
    green = models.pit_loss(state.circuit)
    # a car in the pit lane now still has the out-lap part of its stop to lose
    still_to_lose = models.pit_out_share(state.circuit) * green
    gaps = np.array([d.gap_to_leader + (still_to_lose if d.in_pit else 0.0) for d in cars])
    field = Field.build(
        curves.pace,
        gaps,
        [d.compound for d in cars],
        curves.age,
        with_stops_under_way(state, plans),
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


def with_stops_under_way(state: RaceState, plans: list[Plan]) -> list[Plan]:
    """The plans as the Monte Carlo races them: a car in the pit lane is making its plan's
    first stop now (at the end of the lap it has run; on a new set of the same compound
    where its plan makes none), so that stop is not made again later."""
    out = []
    for d, plan in zip(state.running(), plans, strict=True):
        if d.in_pit:
            compound = plan[0][1] if plan else d.compound
            plan = ((state.lap, compound), *plan[1:])
        out.append(plan)
    return out


def wet_share(state: RaceState) -> float:
    """Share of the running cars on intermediates or wets."""
    cars = state.running()
    return sum(d.compound in ("INTERMEDIATE", "WET") for d in cars) / len(cars) if cars else 0.0
