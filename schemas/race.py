"""Events of a race session as the timing feed (or a replay) reports them.

One model per raw topic: session status, completed laps, timing updates, tyre stints,
track status, race-control messages, weather and car telemetry. Field names follow
FastF1's columns where one exists, in snake_case and SI units (seconds, km/h, degC).
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import BaseModel, Field

from schemas.envelope import Envelope


class TrackState(StrEnum):
    """Track status as a strategist names it (F1 codes 1, 2, 4, 5, 6, 7)."""

    GREEN = "green"
    YELLOW = "yellow"
    SC = "sc"
    RED = "red"
    VSC = "vsc"
    VSC_ENDING = "vsc_ending"
    UNKNOWN = "unknown"


TRACK_STATUS_CODES: dict[str, TrackState] = {
    "1": TrackState.GREEN,
    "2": TrackState.YELLOW,
    "3": TrackState.UNKNOWN,
    "4": TrackState.SC,
    "5": TrackState.RED,
    "6": TrackState.VSC,
    "7": TrackState.VSC_ENDING,
}


class DriverInfo(BaseModel):
    """One entry of the session's driver list."""

    driver_number: str
    driver: str = Field(description="Three-letter code, e.g. 'VER'.")
    full_name: str | None = None
    team: str | None = None
    team_colour: str | None = Field(default=None, description="Hex colour without '#'.")


class CarStatus(StrEnum):
    """Whether a car is racing: the live feed's TimingData flags, or a replay's reading of
    the laps (a car whose laps end before the flag has retired)."""

    RUNNING = "running"
    IN_PIT = "in_pit"
    STOPPED = "stopped"  # stopped on track (TimingData ``Stopped``)
    RETIRED = "retired"  # out of the session (``Retired``, or knocked out of qualifying)


class SessionEvent(Envelope):
    """Session status change, lap-count change, session information, or a car's status.

    Version 2 (compatible): ``kind="car_status"`` with ``driver``, ``car_status``, ``lap``
    (the car's laps completed) and ``reason``: a car that stops or retires leaves the race.
    """

    type: Literal["session"] = "session"
    schema_version: int = Field(default=2, description="Version of this event's schema.")
    kind: Literal["info", "status", "lap_count", "car_status"]
    status: str | None = Field(default=None, description="e.g. Inactive, Started, Finished.")
    current_lap: int | None = None
    total_laps: int | None = None
    year: int | None = None
    event_name: str | None = None
    session_name: str | None = None
    circuit: str | None = None
    country: str | None = None
    drivers: list[DriverInfo] | None = None
    driver: str | None = Field(default=None, description="car_status: the car's code.")
    car_status: CarStatus | None = Field(default=None, description="car_status: its status.")
    lap: int | None = Field(default=None, description="car_status: its laps completed then.")
    reason: str | None = Field(default=None, description="car_status: why, where known.")


class LapEvent(Envelope):
    """A completed lap of one driver."""

    per_driver: ClassVar[bool] = True
    type: Literal["lap"] = "lap"
    driver: str
    driver_number: str | None = None
    team: str | None = None
    lap_number: int = Field(ge=0)
    lap_time: float | None = Field(default=None, description="Lap time in seconds.")
    sector1: float | None = None
    sector2: float | None = None
    sector3: float | None = None
    compound: str | None = Field(default=None, description="SOFT, MEDIUM, HARD, INTERMEDIATE, WET.")
    tyre_life: float | None = Field(default=None, description="Laps on this set at lap end.")
    fresh_tyre: bool | None = None
    stint: int | None = None
    pit_in: bool = False
    pit_out: bool = False
    pit_in_time: float | None = Field(default=None, description="Session time of pit entry, s.")
    pit_out_time: float | None = Field(default=None, description="Session time of pit exit, s.")
    position: int | None = None
    track_status: str | None = Field(
        default=None, description="FastF1 TrackStatus string: every status code seen in the lap."
    )
    is_accurate: bool | None = None
    deleted: bool | None = None
    lap_start_time: float | None = Field(default=None, description="Session time, s.")
    speed_trap: float | None = Field(default=None, description="Speed trap, km/h.")


class TimingEvent(Envelope):
    """Position, gap to leader and interval to the car ahead of one driver."""

    per_driver: ClassVar[bool] = True
    type: Literal["timing"] = "timing"
    driver: str
    position: int | None = None
    gap_to_leader: float | None = Field(default=None, description="Seconds; None if lapped.")
    gap_to_leader_text: str | None = Field(default=None, description="As shown, e.g. '+1 LAP'.")
    interval: float | None = Field(default=None, description="Seconds to the car ahead.")
    interval_text: str | None = None


class StintEvent(Envelope):
    """A tyre change (new stint) or a correction of the current one."""

    per_driver: ClassVar[bool] = True
    type: Literal["stint"] = "stint"
    driver: str
    stint: int
    compound: str | None = None
    new: bool | None = None
    tyre_age_at_start: int | None = Field(default=None, description="Laps already on the set.")
    lap_number: int | None = Field(default=None, description="Lap on which the stint started.")


class TrackStatusEvent(Envelope):
    """A track status change: green, yellow, SC, VSC, VSC ending, red."""

    type: Literal["track_status"] = "track_status"
    status: str = Field(description="F1 status code, '1'..'7'.")
    state: TrackState
    message: str | None = None


class RaceControlEvent(Envelope):
    """A race-control message (flags, penalties, SC deployment, DRS...)."""

    type: Literal["race_control"] = "race_control"
    category: str | None = None
    message: str
    flag: str | None = None
    scope: str | None = None
    sector: int | None = None
    racing_number: str | None = None
    lap: int | None = None
    status: str | None = None


class WeatherEvent(Envelope):
    """A weather sample from the circuit's station."""

    type: Literal["weather"] = "weather"
    air_temp: float | None = None
    track_temp: float | None = None
    humidity: float | None = None
    pressure: float | None = None
    rainfall: bool | None = None
    wind_direction: float | None = None
    wind_speed: float | None = None


class TelemetryEvent(Envelope):
    """A car data and/or position sample of one car."""

    per_driver: ClassVar[bool] = True
    type: Literal["telemetry"] = "telemetry"
    driver: str
    speed: float | None = Field(default=None, description="km/h")
    rpm: float | None = None
    gear: int | None = None
    throttle: float | None = Field(default=None, description="0-100 %")
    brake: bool | None = None
    drs: int | None = None
    distance: float | None = Field(default=None, description="Metres since lap start or session.")
    x: float | None = None
    y: float | None = None
    z: float | None = None
