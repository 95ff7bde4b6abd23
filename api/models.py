"""Pydantic models of the REST API's requests and responses (the OpenAPI schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, model_validator

from api.params import SESSION_PATTERN
from schemas.derived import DriverStrategy

COMPOUND_NAMES = ("SOFT", "MEDIUM", "HARD", "INTERMEDIATE", "WET", "UNKNOWN")
TRACK_STATES = ("green", "yellow", "sc", "vsc", "vsc_ending", "red")
#: A tyre compound, in capitals (the OpenAPI enum; "medium" is refused, not guessed).
Compound = Literal["SOFT", "MEDIUM", "HARD", "INTERMEDIATE", "WET", "UNKNOWN"]
#: A circuit slug as in session keys (monaco, saudi-arabian): letters, digits, - and _.
CIRCUIT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$"
DRIVER_CODE_PATTERN = r"^[A-Za-z]{2,4}$"
#: Free text: printable (no control characters: NUL has no place in a PostgreSQL text).
TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*$"


def _json_number(value: Any) -> Any:
    if isinstance(value, str | bool):
        raise ValueError("must be a JSON number")
    return value


#: A JSON integer: 3 or 3.0 (JSON Schema's integer), never "3" or true.
Int = Annotated[int, Strict(False), BeforeValidator(_json_number)]


#: A random seed (numpy takes 32 bits).
Seed = Annotated[int, Field(ge=0, le=2**32 - 1), Strict(False), BeforeValidator(_json_number)]
FromLap = Annotated[int, Field(ge=1, le=200), Strict(False), BeforeValidator(_json_number)]


class Request(BaseModel):
    """A request body: unknown fields are refused (422), as the schema declares
    (``additionalProperties: false``), and values must have their declared JSON type (strict:
    ``"5"`` is not an integer, ``1`` is not a boolean)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class SessionSummary(BaseModel):
    session_key: str = Field(examples=["2023-monaco-R"])
    year: int | None = None
    event_name: str | None = None
    session_name: str | None = None
    circuit: str | None = None
    total_laps: int | None = None
    current_lap: int | None = None
    status: str | None = None
    live: bool = Field(description="Live state in Redis (updated recently or still kept).")
    updated_at: datetime | None = None
    laps_stored: int | None = Field(default=None, description="Laps rows in PostgreSQL.")


class SessionDetail(SessionSummary):
    country: str | None = None
    drivers: list[dict[str, Any]] = Field(default_factory=list)
    standings: list[dict[str, Any]] = Field(
        default_factory=list, description="Live standings (Redis), in position order."
    )
    track_status: dict[str, Any] | None = None


class Lap(BaseModel):
    driver: str
    lap_number: int
    lap_time: float | None = None
    sector1: float | None = None
    sector2: float | None = None
    sector3: float | None = None
    compound: str | None = None
    tyre_life: float | None = None
    stint: int | None = None
    pit_in: bool | None = None
    pit_out: bool | None = None
    position: int | None = None
    track_status: str | None = None
    session_time: float | None = None


class Stint(BaseModel):
    driver: str
    stint: int
    compound: str | None = None
    new: bool | None = None
    tyre_age_at_start: int | None = None
    lap_number: int | None = None
    session_time: float | None = None


class TrackStatusChange(BaseModel):
    session_time: float
    status: str
    state: str
    message: str | None = None
    time: datetime | None = None


class StrategySnapshot(BaseModel):
    lap: int
    session_time: float | None = None
    track_status: str | None = None
    trigger: str | None = None
    trigger_driver: str | None = None
    n_sims: int | None = None
    compute_ms: float | None = None
    recommendations: list[DriverStrategy]


# -- the race model ---------------------------------------------------------------------
class DriverStateIn(Request):
    """One car, as the race model takes it (``strategy.race_state.DriverState``)."""

    driver: str = Field(pattern=DRIVER_CODE_PATTERN, examples=["VER"])
    position: Int = Field(ge=1, le=30)
    gap_to_leader: float = Field(
        ge=0, le=36_000, description="Seconds behind the leader (0 for P1)."
    )
    compound: Compound = Field(examples=["MEDIUM"])
    tyre_age: Int = Field(ge=0, le=80)
    stops: Int = Field(default=0, ge=0, le=10)
    compounds_used: list[Compound] = Field(default_factory=list, max_length=20)
    pace: float | None = Field(
        default=None, gt=40, lt=300, description="Recent fuel-corrected clean lap, s."
    )
    team: str | None = Field(default=None, max_length=60, pattern=TEXT_PATTERN)
    retired: bool = False


class RaceStateIn(Request):
    """A race at one moment (``strategy.race_state.RaceState``)."""

    session_key: str = Field(
        default="2000-api-request", pattern=SESSION_PATTERN, max_length=100,
        examples=["2023-monaco-R"],
    )  # fmt: skip
    circuit: str = Field(
        pattern=CIRCUIT_PATTERN, examples=["monaco"], description="Circuit slug as in session keys."
    )
    year: Int = Field(default=2023, ge=1950, le=2100)
    lap: Int = Field(ge=0, le=99, description="Leader laps completed.")
    laps_total: Int = Field(ge=1, le=100)
    track_status: Literal["green", "yellow", "sc", "vsc", "vsc_ending", "red"] = "green"
    drivers: list[DriverStateIn] = Field(min_length=1, max_length=30)

    @model_validator(mode="after")
    def _check(self) -> RaceStateIn:
        if self.lap >= self.laps_total:
            raise ValueError(f"lap {self.lap} must be below laps_total {self.laps_total}")
        names = [d.driver for d in self.drivers]
        if len(set(names)) != len(names):
            raise ValueError("driver codes must be unique")
        positions = [d.position for d in self.drivers if not d.retired]
        if len(set(positions)) != len(positions):
            raise ValueError("positions of running cars must be unique")
        return self

    def to_state(self):
        from strategy.race_state import DriverState, RaceState

        return RaceState(
            session_key=self.session_key,
            circuit=self.circuit.lower(),
            year=self.year,
            lap=self.lap,
            laps_total=self.laps_total,
            track_status=self.track_status,
            drivers=[
                DriverState(
                    driver=d.driver.upper(),
                    position=d.position,
                    gap_to_leader=d.gap_to_leader,
                    compound=d.compound,
                    tyre_age=d.tyre_age,
                    stops=d.stops,
                    compounds_used=tuple(d.compounds_used),
                    pace=d.pace,
                    team=d.team,
                    retired=d.retired,
                )
                for d in self.drivers
            ],
        )


class SimulationRequest(Request):
    state: RaceStateIn
    n_sims: Int = Field(default=2000, ge=100, le=50_000)
    seed: Seed | None = None


class DriverOutcome(BaseModel):
    driver: str
    position: int
    win_prob: float
    podium_prob: float
    points_prob: float
    expected_position: float
    position_distribution: list[float] = Field(description="P(finish 1st), P(2nd), ...")
    plan: list[tuple[int, str]] = Field(description="Stops simulated: (lap, compound).")


class SimulationResult(BaseModel):
    n_sims: int
    compute_ms: float
    model_version: str
    drivers: list[DriverOutcome]


class OptimalRequest(Request):
    state: RaceStateIn
    n_sims: Int = Field(default=500, ge=100, le=20_000)
    seed: Seed | None = None


class OptimalResult(BaseModel):
    compute_ms: float
    model_version: str
    recommendations: list[DriverStrategy]


class Stop(Request):
    lap: Int = Field(ge=1, le=100, description="Pit at the end of this lap.")
    compound: Compound


class CompareRequest(Request):
    state: RaceStateIn
    driver: str = Field(pattern=DRIVER_CODE_PATTERN, examples=["VER"])
    plans: list[list[Stop]] = Field(
        min_length=1, max_length=8, description="Candidate plans; [] means no more stops."
    )
    n_sims: Int = Field(default=2000, ge=100, le=20_000)
    seed: Seed | None = 0


class PlanOutcome(BaseModel):
    plan: list[Stop]
    win_prob: float
    podium_prob: float
    expected_position: float
    position_distribution: list[float]


class CompareResult(BaseModel):
    driver: str
    compute_ms: float
    best_index: int = Field(description="Index of the plan with the best expected position.")
    outcomes: list[PlanOutcome]


class LapTimeRequest(Request):
    circuit: str = Field(pattern=CIRCUIT_PATTERN, examples=["monaco"])
    compound: Compound = Field(examples=["MEDIUM"])
    tyre_life: float = Field(ge=0, le=80, description="Laps on the set at the last lap.")
    lap: Int = Field(ge=1, le=99, description="Last completed lap.")
    laps_total: Int = Field(ge=2, le=100)
    recent_laps: list[Annotated[float, Field(gt=40, lt=300)]] = Field(
        min_length=1,
        max_length=20,
        description="The driver's last clean lap times, s (oldest first; only the last "
        "``lap`` of them count).",
    )
    stint: Int = Field(default=1, ge=1, le=10)
    position: Int = Field(default=10, ge=1, le=30)
    gap_ahead: float = Field(default=99.0, ge=0, le=36_000, description="Seconds to the car ahead.")
    horizon: Int = Field(default=5, ge=1, le=5, description="Laps ahead to predict (1-5).")

    @model_validator(mode="after")
    def _lap_range(self) -> LapTimeRequest:
        if self.lap >= self.laps_total:
            raise ValueError(f"lap {self.lap} must be below laps_total {self.laps_total}")
        return self


class LapTimePrediction(BaseModel):
    lap: int
    tyre_life: float
    lap_time: float


class LapTimeResult(BaseModel):
    model: str = Field(description="'lightgbm-<version>' or 'priors' when no model is trained.")
    predictions: list[LapTimePrediction]


class DegradationLap(Request):
    tyre_age: float = Field(ge=0, le=80)
    lap_time: float = Field(gt=40, lt=300)
    lap_number: Int = Field(ge=1, le=100)


class DegradationRequest(Request):
    compound: Compound = Field(examples=["HARD"])
    circuit: str | None = Field(default=None, pattern=CIRCUIT_PATTERN, examples=["monaco"])
    laps_total: Int = Field(ge=2, le=100)
    laps: list[DegradationLap] = Field(min_length=1, max_length=80)
    predict_laps: Int = Field(default=10, ge=0, le=60)


class DegradationResult(BaseModel):
    compound: str
    slope: float = Field(description="Seconds lost per lap of tyre age.")
    slope_std: float
    intercept: float | None
    laps_in_fit: int
    prior_slope: float
    predicted: list[dict[str, float]] = Field(
        description="Fuel-corrected lap time at each future tyre age."
    )


class SafetyCarResult(BaseModel):
    circuit: str
    known_circuit: bool
    p_sc_per_lap: float
    p_vsc_per_lap: float
    laps_remaining: int
    p_sc_remaining: float = Field(description="P(at least one SC in the remaining laps).")
    p_vsc_remaining: float
    p_any_remaining: float
    pit_loss_s: float
    pit_loss_under_sc_s: float


class ReplayRequest(Request):
    year: Int = Field(ge=2018, le=2100, examples=[2023])
    event: str = Field(
        min_length=2, max_length=60, pattern=r"^[A-Za-z0-9][A-Za-z0-9 .'-]*$",
        examples=["Monaco"],
    )  # fmt: skip
    session: str = Field(default="R", pattern=r"^[A-Za-z0-9 ]{1,20}$", examples=["R"])
    speed: float | None = Field(default=None, gt=0, le=1000, description="None: max speed.")
    from_lap: FromLap | None = Field(
        default=None,
        description="Send what comes before this lap at once, then pace (1: from lights out).",
    )
    session_key: str | None = Field(
        default=None, pattern=SESSION_PATTERN, max_length=100,
        description="Replay under another key.",
    )  # fmt: skip


class ReplayJob(BaseModel):
    id: str
    status: Literal["queued", "running", "done", "failed"]
    request: ReplayRequest
    session_key: str | None = None
    published: int | None = None
    seconds: float | None = None
    error: str | None = None


class Health(BaseModel):
    status: Literal["ok", "degraded", "down"]
    checks: dict[str, dict[str, Any]] = Field(default_factory=dict)


# -- the dashboard's charts ------------------------------------------------------------------
class ChartLap(BaseModel):
    """One car's lap as the strategy chart and the race trace draw it."""

    lap: int
    gap: float = Field(
        description="Seconds behind the first car to complete this lap, at the line."
    )
    laps_down: int = Field(default=0, description="Laps behind the leader at the line.")
    compound: str | None = None
    stint: int | None = None
    tyre_life: float | None = None
    pit_in: bool = False
    pit_out: bool = False
    position: int | None = None
    lap_time: float | None = None


class ChartDriver(BaseModel):
    driver: str
    laps: list[ChartLap]
    out_lap: int | None = Field(default=None, description="Laps completed when it went out.")
    out_reason: str | None = None


class TrackPeriod(BaseModel):
    state: Literal["sc", "vsc", "red"]
    start: float = Field(description="Leader laps when it began (3.5: halfway round lap 4).")
    end: float | None = Field(default=None, description="None: not over yet.")


class RaceChart(BaseModel):
    """A session's race so far: the strategy chart's stints and the race trace's gaps."""

    session_key: str
    laps_total: int | None = None
    drivers: list[ChartDriver]
    track: list[TrackPeriod] = Field(description="Safety-car, VSC and red-flag periods.")
