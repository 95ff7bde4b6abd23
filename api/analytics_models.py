"""Response models of the analytics endpoints (``/api/v1/compare``, ``insights``,
``telemetry``, ``battles``, ``track``): chart-ready JSON, arrays per series."""

from __future__ import annotations

from pydantic import BaseModel, Field

from schemas import BattlePair


class DriverRef(BaseModel):
    driver: str
    team: str | None = None
    colour: str | None = Field(default=None, description="Team colour, '#rrggbb'.")


class SessionRef(BaseModel):
    session: str = Field(description="Session key, e.g. 2023-monaco-R.")
    event: str
    session_name: str
    kind: str = Field(
        description="'race' (fuel-corrected analyses) or 'timed' (qualifying, practice)."
    )
    laps_source: str = Field(
        default="archive",
        description="'live': the laps stored so far of a session being run; 'archive': the "
        "whole session from the FastF1 cache or a data export.",
    )


class LapSeries(BaseModel):
    """One driver's laps as parallel arrays (for scatter and distribution charts)."""

    lap: list[int]
    lap_time: list[float | None]
    fuel_corrected: list[float | None]
    compound: list[str]
    stint: list[int | None]
    clean: list[bool]


class Distribution(BaseModel):
    driver: str
    laps: int
    min: float | None = None
    q1: float | None = None
    median: float | None = None
    q3: float | None = None
    max: float | None = None
    mean: float | None = None


class PaceRow(BaseModel):
    """Race: clean laps, median and fuel-corrected median lap, tyre-corrected pace; timed
    sessions: the best lap. ``gap``: to the fastest, s."""

    driver: str | None = None
    team: str | None = None
    laps: int | None = None
    lap: int | None = None
    lap_time: float | None = None
    median_lap: float | None = None
    fuel_corrected: float | None = None
    pace: float | None = None
    gap: float | None = None
    gap_pct: float | None = None
    compound: str | None = None


class SectorRow(BaseModel):
    driver: str
    best_lap: float | None = None
    ideal_lap: float | None = None
    best: list[float | None] = Field(description="Best sector 1, 2, 3, s.")
    median: list[float | None] = Field(description="Median sector 1-3 of clean laps, s.")
    delta_best: list[float | None] = Field(description="Best sectors minus the reference's.")
    delta_median: list[float | None]
    speed_traps: dict[str, float | None] = Field(
        description="Top speed (km/h) at each trap: i1, i2, fl (finish line), st (speed trap)."
    )


class Sectors(BaseModel):
    available: bool
    reference: str | None = None
    rows: list[SectorRow] = []
    note: str | None = None


class StintRow(BaseModel):
    driver: str
    team: str | None = None
    stint: int
    compound: str | None
    first_lap: int
    last_lap: int
    laps: int
    clean_laps: int
    tyre_age_start: float | None = None
    tyre_age_end: float | None = None
    slope: float | None = Field(default=None, description="s per lap of tyre age.")
    slope_std: float | None = None
    median_fc: float | None = None
    tyre_age: list[float]
    fuel_corrected: list[float]
    fitted: list[float]


class ConsistencyRow(BaseModel):
    driver: str
    team: str | None = None
    laps: int
    median: float
    std: float
    iqr: float
    detrended_std: float
    within_0_5: float = Field(description="Share of clean laps within 0.5 s of the median.")


class DriverComparison(SessionRef):
    drivers: list[DriverRef]
    laps: dict[str, LapSeries]
    distribution: list[Distribution]
    pace: list[PaceRow]
    sectors: Sectors
    stints: list[StintRow]
    consistency: list[ConsistencyRow]


class TeamRow(BaseModel):
    team: str
    colour: str | None = None
    drivers: list[str]
    pace: float | None = None
    gap: float | None = None
    best_lap: float | None = None
    top_speed: float | None = None
    median_slope: dict[str, float] = Field(description="Median degradation per compound.")


class TeamComparison(SessionRef):
    teams: list[TeamRow]


class ConsistencyInsight(SessionRef):
    drivers: list[ConsistencyRow]


class HeadToHeadRow(BaseModel):
    team: str
    drivers: list[str]
    finished_ahead: str | None = None
    laps_compared: int | None = None
    laps_ahead: dict[str, int] | None = None
    pace_delta: float | None = Field(
        default=None, description="Median lap-for-lap difference, first minus second driver, s."
    )
    paired_laps: int | None = None
    best: dict[str, float | None] | None = None
    delta: float | None = None
    faster: str | None = None


class HeadToHead(SessionRef):
    pairs: list[HeadToHeadRow]


class TrackEvolution(SessionRef):
    x: list[float]
    delta: list[float]
    laps: list[int]
    unit: str
    slope: float | None
    total: float | None


class Corner(BaseModel):
    distance: float
    speed: float
    gear: int | None = None
    other_speed: float | None = None
    speed_delta: float | None = None


class Trace(BaseModel):
    driver: str
    lap: int
    lap_time: float
    compound: str | None = None
    length: float = Field(description="Lap distance, m.")
    distance: list[float]
    time: list[float]
    speed: list[float]
    throttle: list[float]
    brake: list[float]
    gear: list[int]
    drs: list[int]
    x: list[float] | None = None
    y: list[float] | None = None
    full_throttle: float | None = None
    corners: list[Corner] = []


class LapTelemetry(SessionRef, Trace):
    pass


class MiniSectors(BaseModel):
    bounds: list[float]
    times: dict[str, list[float]]
    fastest: list[str]
    share: dict[str, float]


class TelemetryComparison(SessionRef):
    reference: str
    traces: list[Trace]
    delta: list[float] = Field(
        description="s the second lap is behind the reference at each reference distance."
    )
    mini_sectors: MiniSectors
    corners: list[Corner]


class BattleLap(BaseModel):
    lap: int
    pairs: list[BattlePair]
    passed_within_3: dict[str, bool | None] | None = Field(
        default=None,
        description="Past sessions: whether each pair ('AHEAD-BEHIND') really changed places "
        "on track within 3 laps (None: a pit stop, SC/VSC or the end came first).",
    )


class Battles(BaseModel):
    session: str
    source: str = Field(description="'live' (the stream worker's latest) or 'laps'.")
    model_version: str | None = None
    laps: list[BattleLap]


class TrackMap(BaseModel):
    session: str
    circuit: str | None
    length_m: int | None = None
    frame: str = Field(description="'car' (FastF1 X/Y, aligned) or 'metres' (no telemetry).")
    outline: list[list[float]]
    residual_m: float | None = None
    drivers: list[DriverRef]


class CarPosition(BaseModel):
    x: float
    y: float
    t: float | None = None


class Positions(BaseModel):
    session: str
    cars: dict[str, CarPosition]
