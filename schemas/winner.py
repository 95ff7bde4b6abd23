"""Pre-race predictions as they are served and cached: the one shape for the API and Redis.

The automatic update (``prerace/ingest``) writes a race's ``RacePrediction`` to Redis under
``race_cache_key`` whenever it stores new predictions; the API serves the cached document
or, on a miss, builds the same model from PostgreSQL and caches it. Chances are percentages:
a moment's win chances sum to 100 and its podium chances to 300.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

Moment = Literal["pre", "post"]

MOMENT_NAMES = {"pre": "before qualifying", "post": "after qualifying"}
#: The baseline each moment's model starts from (``prerace.baselines``): the championship
#: order's rates before qualifying, the grid slot's after it.
BASELINES = {"pre": "championship", "post": "grid_slot"}


def race_cache_key(race_id: int) -> str:
    """Redis key of a race's ``RacePrediction`` JSON (no expiry: replaced on change)."""
    return f"pitwall:winner:race:{race_id}"


class DriverChance(BaseModel):
    driver_id: int
    driver_ref: str | None = None
    code: str | None = None
    driver_name: str
    constructor_id: int | None = None
    team: str | None = None
    grid: int | None = Field(None, description="Starting slot when the grid is known.")
    win_probability: float = Field(ge=0, le=100, description="Chance to win, in percent.")
    podium_probability: float = Field(ge=0, le=100, description="Chance of a top 3, percent.")
    baseline_win_probability: float | None = Field(
        None,
        ge=0,
        le=100,
        description="The baseline's chance to win, in percent (the "
        "moment's ``baseline``): what the model starts from.",
    )
    baseline_podium_probability: float | None = Field(
        None, ge=0, le=100, description="The baseline's chance of a top 3, in percent."
    )
    finish_position: int | None = Field(
        None,
        description="Where the driver finished, once the race is run (null: not "
        "classified, or not run yet).",
    )


class MomentPrediction(BaseModel):
    moment: Moment = Field(description="pre: before qualifying; post: after qualifying.")
    model_version: str
    kind: Literal["live", "backfill"] = Field(
        description="live: made before the race from what was known then; backfill: made "
        "afterwards by a model trained only on the races before it (walk-forward)."
    )
    generated_at: datetime
    baseline: str | None = Field(
        None,
        description="The baseline the model starts from: grid_slot (the grid slot's "
        "historical rates) after qualifying, championship (the rates of each place in the "
        "drivers' championship) before it.",
    )
    predictions: list[DriverChance] = Field(description="Highest win chance first.")


class RacePrediction(BaseModel):
    race_id: int
    season: int
    round: int
    race_name: str
    race_date: date | None = None
    circuit: str | None = None
    status: Literal["scheduled", "completed"]
    grid_known: bool
    model_version: str = Field(description="Version of the latest moment's model.")
    generated_at: datetime
    predictions: list[DriverChance] = Field(
        description="The latest moment's chances (after qualifying when the grid is known)."
    )
    moments: list[MomentPrediction]
    notice: str | None = Field(
        None,
        description="Why this race is shown where another was asked for (the next "
        "race, when the calendar has none ahead or none with predictions).",
    )
