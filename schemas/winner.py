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


class MomentPrediction(BaseModel):
    moment: Moment = Field(description="pre: before qualifying; post: after qualifying.")
    model_version: str
    kind: Literal["live", "backfill"] = Field(
        description="live: made before the race from what was known then; backfill: made "
        "afterwards by a model trained only on the races before it (walk-forward)."
    )
    generated_at: datetime
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
