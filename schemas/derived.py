"""Events that pitwall derives from the race: features, degradation and strategy.

The stream worker publishes them; the sinks, the WebSocket gateway and external
subscribers read them. ``source_produced_at`` carries the ``produced_at`` of the input
event that triggered the computation, so that end-to-end latency can be measured.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, Field

from schemas.envelope import Envelope
from schemas.race import TrackState


class FeaturesEvent(Envelope):
    """Per driver, per completed lap: the state of the driver's current stint."""

    per_driver: ClassVar[bool] = True
    type: Literal["features"] = "features"
    driver: str
    lap_number: int
    stint: int | None = None
    compound: str | None = None
    tyre_life: float | None = None
    lap_time: float | None = None
    fuel_corrected_lap_time: float | None = Field(
        default=None, description="Lap time with the fuel-load effect removed, s."
    )
    stint_laps: int = 0
    stint_pace: float | None = Field(
        default=None,
        description="Median of the last clean, fuel-corrected laps on this kind of tyre (dry, "
        "intermediate or wet), s; None before two.",
    )
    position: int | None = None
    gap_to_leader: float | None = None
    gap_ahead: float | None = None
    gap_behind: float | None = None
    in_traffic: bool = False
    pit_in: bool = False
    pit_out: bool = False
    track_status: str | None = None
    source_produced_at: datetime | None = None


class DegradationEvent(Envelope):
    """Per driver, per completed lap: the stint's degradation estimate and the next laps."""

    per_driver: ClassVar[bool] = True
    type: Literal["degradation"] = "degradation"
    driver: str
    lap_number: int
    stint: int | None = None
    compound: str | None = None
    tyre_life: float | None = None
    slope: float = Field(description="Degradation, seconds lost per lap of tyre age.")
    slope_std: float = Field(ge=0, description="Posterior standard deviation of the slope.")
    intercept: float | None = Field(default=None, description="Fuel-corrected pace at age 0, s.")
    predicted_laps: list[float] = Field(
        default_factory=list, description="Predicted lap times of the next laps, s."
    )
    laps_in_fit: int = 0
    source_produced_at: datetime | None = None


class PitWindow(BaseModel):
    """Laps on which stopping gives an expected outcome within noise of the best."""

    open_lap: int
    close_lap: int
    best_lap: int


class RejoinProjection(BaseModel):
    """Where a car would rejoin if it pitted now, under one track status."""

    status: Literal["green", "sc", "vsc"]
    pit_loss: float = Field(description="Seconds the stop costs against staying out.")
    position: int = Field(ge=1, description="Projected position after the stop.")
    ahead: str | None = Field(default=None, description="The car directly ahead after it.")
    gap_ahead: float | None = Field(default=None, description="Seconds behind that car.")
    behind: str | None = Field(default=None, description="The car directly behind after it.")
    gap_behind: float | None = Field(default=None, description="Seconds ahead of that car.")


class DriverStrategy(BaseModel):
    """The recommendation for one driver at one moment of the race."""

    driver: str
    position: int | None = None
    compound: str | None = None
    tyre_age: float | None = None
    stops: int = 0
    pit_window: PitWindow | None = Field(default=None, description="None: stay out to the end.")
    recommended_compound: str | None = None
    stay_out: bool = True
    pit_now: bool = False
    pit_under_sc: bool | None = Field(
        default=None, description="Under SC/VSC: whether to use it to pit. None when green."
    )
    undercut_threat: float = Field(default=0.0, ge=0, le=1, description="From the car behind.")
    undercut_opportunity: float = Field(default=0.0, ge=0, le=1, description="On the car ahead.")
    overcut_threat: float = Field(default=0.0, ge=0, le=1)
    overcut_opportunity: float = Field(default=0.0, ge=0, le=1)
    win_prob: float = Field(ge=0, le=1)
    podium_prob: float = Field(ge=0, le=1)
    expected_position: float | None = Field(
        default=None, description="Mean simulated finishing position."
    )
    predicted_position: int | None = Field(
        default=None,
        description="Median simulated finishing position: the forecast least wrong on "
        "average (schema_version 2).",
    )
    confidence: float = Field(default=0.5, ge=0, le=1, description="Confidence of the advice.")
    rejoin: list[RejoinProjection] | None = Field(
        default=None,
        description="Where the car would rejoin if it pitted now: green, SC and VSC "
        "(schema_version 2).",
    )


class StrategyEvent(Envelope):
    """Per session, on each completed lap or track-status change: the whole field's advice.

    Version 2 (compatible): each recommendation carries its ``rejoin`` projection, and
    ``retired`` lists the cars out of the race (they get no recommendation).
    """

    type: Literal["strategy"] = "strategy"
    schema_version: int = Field(default=2, description="Version of this event's schema.")
    lap: int = Field(description="Leader lap the state refers to.")
    laps_total: int | None = None
    track_status: TrackState = TrackState.GREEN
    trigger: Literal["lap", "track_status", "car_status"] = Field(
        default="lap", description="What made the update (car_status: schema_version 2)."
    )
    trigger_driver: str | None = None
    trigger_lap: int | None = None
    n_sims: int = 0
    compute_ms: float | None = None
    recommendations: list[DriverStrategy]
    retired: list[str] = Field(
        default_factory=list, description="Cars out of the race (schema_version 2)."
    )
    source_produced_at: datetime | None = None
