"""The race model's predictions for a posted state: a driver's next lap times, a stint's tyre
degradation, and a circuit's safety-car chances."""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING

from api.models import (
    DegradationRequest,
    DegradationResult,
    LapTimePrediction,
    LapTimeRequest,
    LapTimeResult,
    SafetyCarResult,
)
from api.services.errors import Invalid

if TYPE_CHECKING:
    from strategy.artifacts import RaceModels


def _prior_lap_times(req: LapTimeRequest, models: RaceModels, horizons: list[int]) -> list:
    """Without a trained model: the recent fuel-corrected pace, the compound's degradation
    prior and the fuel effect."""
    from strategy.compounds import COMPOUND_INDEX
    from strategy.fuel import FUEL_S_PER_LAP, fuel_corrected

    recent = req.recent_laps[-req.lap :]
    n = len(recent)
    fc = [fuel_corrected(t, req.lap - (n - 1 - i), req.laps_total) for i, t in enumerate(recent)]
    ref = statistics.median(fc[-5:])
    _, slopes = models.compound_arrays(req.circuit)
    s = float(slopes[COMPOUND_INDEX.get(req.compound, 1)])
    return [ref + s * h + FUEL_S_PER_LAP * (req.laps_total - req.lap - h) for h in horizons]


def lap_time(req: LapTimeRequest, models: RaceModels) -> LapTimeResult:
    """The driver's next 1-5 lap times: the trained LightGBM model where there is one (anchored
    on the recent fuel-corrected pace), else the priors."""
    from strategy.laptime import predict_stint

    horizons = [h for h in range(1, req.horizon + 1) if req.lap + h <= req.laps_total]
    # No more recent laps than laps done: the model dates them back from ``lap``.
    recent = req.recent_laps[-req.lap :]
    if models.laptime is not None:
        times = predict_stint(
            models.laptime, models.key(req.circuit), req.compound, req.tyre_life, req.lap,
            req.laps_total, recent, req.stint, req.position, req.gap_ahead,
            len(horizons),
        )  # fmt: skip
        name = f"lightgbm-{models.version}"
    else:
        times = _prior_lap_times(req, models, horizons)
        name = "priors"
    return LapTimeResult(
        model=name,
        predictions=[
            LapTimePrediction(
                lap=req.lap + h, tyre_life=req.tyre_life + h, lap_time=round(float(t), 3)
            )
            for h, t in zip(horizons, times, strict=True)
        ],
    )


def degradation(req: DegradationRequest, models: RaceModels) -> DegradationResult:
    """The online Bayesian degradation model fitted to the stint's fuel-corrected laps (its
    slope starting at the compound's prior) and extrapolated; ``Invalid`` for a compound
    without a model or a lap beyond the race's distance."""
    from strategy.compounds import COMPOUND_INDEX
    from strategy.degradation import OnlineDegradation
    from strategy.fuel import fuel_corrected

    if req.compound not in COMPOUND_INDEX:
        raise Invalid(f"no degradation model for compound {req.compound}")
    _, slopes = models.compound_arrays(req.circuit)
    prior = float(slopes[COMPOUND_INDEX[req.compound]])
    prior_sd = models.priors[req.compound].slope_sd if req.compound in models.priors else None
    deg = OnlineDegradation(req.compound, prior_slope=prior, prior_std=prior_sd)
    for lap in req.laps:
        if lap.lap_number > req.laps_total:
            raise Invalid(f"lap_number {lap.lap_number} is beyond laps_total {req.laps_total}")
        deg.update(lap.tyre_age, fuel_corrected(lap.lap_time, lap.lap_number, req.laps_total))
    last_age = max(lap.tyre_age for lap in req.laps)
    ages = [last_age + k for k in range(1, req.predict_laps + 1)]
    return DegradationResult(
        compound=req.compound,
        slope=round(deg.slope, 5),
        slope_std=round(deg.slope_std, 5),
        intercept=None if deg.intercept is None else round(deg.intercept, 3),
        laps_in_fit=deg.n,
        prior_slope=round(prior, 5),
        predicted=[
            {"tyre_age": a, "lap_time": round(t, 3)}
            for a, t in zip(ages, deg.predict(ages), strict=True)
        ],
    )


def safety_car(models: RaceModels, circuit: str, laps_remaining: int) -> SafetyCarResult:
    """The circuit's per-lap SC and VSC hazard, the chance of at least one in the laps that
    remain, and the pit loss green and under the safety car."""
    p_sc, p_vsc = models.sc_hazard(circuit)
    loss = models.pit_loss(circuit)
    n = laps_remaining
    return SafetyCarResult(
        circuit=circuit,
        known_circuit=models.knows_circuit(circuit),
        p_sc_per_lap=round(p_sc, 5),
        p_vsc_per_lap=round(p_vsc, 5),
        laps_remaining=n,
        p_sc_remaining=round(1 - (1 - p_sc) ** n, 4),
        p_vsc_remaining=round(1 - (1 - p_vsc) ** n, 4),
        p_any_remaining=round(1 - ((1 - p_sc) * (1 - p_vsc)) ** n, 4),
        pit_loss_s=round(loss, 2),
        pit_loss_under_sc_s=round(models.pit_loss(circuit, "sc"), 2),
    )
