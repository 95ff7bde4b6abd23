"""The battle forecast the stream worker derives each lap: every pair of adjacent cars and the
chance that the car behind passes on track within 1, 3 and 5 laps."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from schemas.envelope import Envelope


class BattlePair(BaseModel):
    """Two cars in adjacent positions and the forecast of a pass by the car behind."""

    position: int = Field(ge=2, description="Position of the car behind.")
    ahead: str = Field(description="Three-letter code of the car ahead.")
    behind: str = Field(description="Three-letter code of the car behind.")
    gap: float | None = Field(default=None, description="Gap at the line, s.")
    drs: bool = Field(default=False, description="Within DRS range (gap < 1 s).")
    pace_delta: float | None = Field(
        default=None, description="Recent pace, behind minus ahead, s/lap (negative: faster)."
    )
    tyre_age_delta: float | None = Field(default=None, description="Behind minus ahead, laps.")
    compound_ahead: str | None = None
    compound_behind: str | None = None
    p_pass_1: float = Field(ge=0, le=1, description="P(pass on track within 1 lap).")
    p_pass_3: float = Field(ge=0, le=1, description="P(pass on track within 3 laps).")
    p_pass_5: float = Field(ge=0, le=1, description="P(pass on track within 5 laps).")


class BattlesEvent(Envelope):
    """Per session, on each leader lap: the battle forecast of every adjacent pair."""

    type: Literal["battles"] = "battles"
    lap: int = Field(ge=0, description="Leader lap the forecast is made at.")
    laps_total: int | None = None
    model_version: str | None = None
    pairs: list[BattlePair]
    source_produced_at: datetime | None = None
