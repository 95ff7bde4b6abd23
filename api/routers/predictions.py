"""Predictions of the race model: lap times ahead, tyre degradation, safety-car chances."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, HTTPException, Query

from api.deps import Models
from api.models import (
    CIRCUIT_PATTERN,
    DegradationRequest,
    DegradationResult,
    LapTimeRequest,
    LapTimeResult,
    SafetyCarResult,
)
from api.services import predictions

router = APIRouter(prefix="/predictions", tags=["predictions"])


@router.post("/lap-time", response_model=LapTimeResult, summary="Next lap times of a driver")
async def predict_lap_time(req: LapTimeRequest, models: Models) -> LapTimeResult:
    """Predict the driver's next 1-5 lap times from recent clean laps and the tyre state.

    Uses the trained LightGBM model (anchored on the recent fuel-corrected pace); without a
    trained model, the compound's degradation prior and the fuel effect.
    """
    return await asyncio.to_thread(predictions.lap_time, req, models)


@router.post(
    "/degradation", response_model=DegradationResult, summary="Tyre degradation of a stint"
)
async def predict_degradation(req: DegradationRequest, models: Models) -> DegradationResult:
    """Fit the online Bayesian degradation model to a stint's clean laps and extrapolate.

    The slope starts at the compound's historical prior (scaled for the circuit when given)
    and moves towards the laps posted. Lap times are fuel-corrected before the fit.
    """
    return predictions.degradation(req, models)


@router.get("/safety-car", response_model=SafetyCarResult, summary="SC/VSC chances")
async def predict_safety_car(
    models: Models,
    circuit: str = Query(
        description="Circuit slug, e.g. monaco, bahrain, saudi-arabian.", pattern=CIRCUIT_PATTERN
    ),
    laps_remaining: int = Query(ge=0, le=100, description="Racing laps still to run."),
) -> SafetyCarResult:
    """Per-lap SC and VSC hazard of the circuit (fitted on history) and the chance of at least
    one in the laps that remain, with the pit loss green and under the safety car."""
    if not circuit.strip():
        raise HTTPException(422, "circuit must not be empty")
    return predictions.safety_car(models, circuit, laps_remaining)
