"""A live session as the race model follows it: the session, each car's row and its pace.

The stream worker keeps one :class:`SessionState` per session and one :class:`CarState` per
car in its changelogged tables (``to_dict`` / ``from_dict``: plain JSON), applies each race
event here, and asks for the race model's inputs: the :class:`~strategy.race_state.RaceState`
the simulator takes, a car's stint pace, its degradation forecast and the per-lap features.
Car rows follow the one set of standings rules (:mod:`strategy.standings`).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from schemas import FeaturesEvent, LapEvent
from schemas.live import StandingRow
from strategy import standings
from strategy.circuits import circuit_slug
from strategy.compounds import DRY
from strategy.degradation import OnlineDegradation
from strategy.fuel import fuel_corrected, fuel_effect
from strategy.lapfeatures import CarLaps, is_clean
from strategy.race_state import PACE_LAPS, DriverState, RaceState
from strategy.wet import TrackConditions

if TYPE_CHECKING:
    from strategy.artifacts import RaceModels

TRAFFIC_GAP_S = 1.5  # a car closer than this behind another is in its dirty air


@dataclass
class SessionState:
    """What the session knows: lap count, circuit, track status, cars, line crossings."""

    session_key: str
    laps_total: int | None = None
    circuit: str = ""
    year: int = 0
    track_status: str = "green"
    leader_lap: int = 0
    drivers: list[str] = field(default_factory=list)
    #: lap (as text) -> session time at which the first car completed it
    crossings: dict[str, float] = field(default_factory=dict)
    #: the track per tyre family (slicks, intermediates, wets), for the wet-weather advice
    conditions: TrackConditions = field(default_factory=TrackConditions)

    @classmethod
    def new(cls, session_key: str) -> SessionState:
        year = int(session_key[:4]) if session_key[:4].isdigit() else 0
        return cls(session_key, circuit=session_key.split("-", 1)[-1].rsplit("-", 1)[0], year=year)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SessionState:
        conditions = TrackConditions.from_dict(d.get("conditions") or {})
        return cls(**{**d, "conditions": conditions})

    def to_dict(self) -> dict[str, Any]:
        return {**vars(self), "conditions": self.conditions.to_dict()}

    def apply_session(self, e: Any) -> None:
        """A ``SessionEvent``: lap count, year and circuit."""
        if e.total_laps:
            self.laps_total = e.total_laps
        if e.kind == "info":
            self.year = e.year or self.year
            if e.event_name:
                self.circuit = circuit_slug(e.event_name)

    def apply_track_status(self, e: Any) -> bool:
        """A ``TrackStatusEvent``; True when the change matters for strategy (SC, VSC, red, or
        back to green)."""
        state = e.state.value if hasattr(e.state, "value") else str(e.state)
        if state in ("yellow", "unknown"):
            return False
        before, self.track_status = self.track_status, state
        return state != before

    def apply_conditions(self, e: Any) -> None:
        """A stint or weather event, for the track conditions (laps come through
        :func:`apply_lap`)."""
        self.conditions.apply(e)

    def add_driver(self, driver: str) -> None:
        if driver not in self.drivers:
            self.drivers.append(driver)


@dataclass
class CarState:
    """One car: its standings row and what its laps say about its pace."""

    row: StandingRow
    laps: CarLaps = field(default_factory=CarLaps)  # its laps, for the lap-time model
    compounds_used: list[str] = field(default_factory=list)  # dry compounds run so far
    stint_laps: list[list[float]] = field(default_factory=list)  # [tyre age, fuel-corr. time]
    clean_recent: list[float] = field(default_factory=list)  # last clean laps, same tyre kind
    lap_end: float | None = None  # session time of the last completed lap

    @classmethod
    def new(cls, driver: str) -> CarState:
        return cls(StandingRow(driver=driver))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CarState:
        return cls(
            StandingRow.model_validate(d["row"]),
            CarLaps.from_dict(d.get("laps", {})),
            *(d[k] for k in _PACE_FIELDS),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "row": self.row.model_dump(),
            "laps": self.laps.to_dict(),
            **{k: getattr(self, k) for k in _PACE_FIELDS},
        }

    @property
    def driver(self) -> str:
        return self.row.driver

    def _follow(self, change: standings.TyreChange) -> None:
        """Start over what a new stint or another kind of tyre makes stale."""
        if change.new_stint:
            self.stint_laps = []
        if change.kind_changed:
            # Laps on another kind of tyre say nothing of the pace to come (at Monaco 2023 the
            # dry laps before the rain made the leader look 4 s a lap slower than the car
            # behind him on the same intermediates).
            self.clean_recent = []
        compound = self.row.compound
        if compound in DRY and compound not in self.compounds_used:
            self.compounds_used.append(compound)

    def apply_status(self, e: Any) -> bool:
        """A ``car_status`` event; True when the car has just gone out of the race."""
        was_out = standings.is_out(self.row)
        return standings.apply_status(self.row, e) and standings.is_out(self.row) and not was_out

    def apply_stint(self, e: Any) -> None:
        change = standings.apply_stint(self.row, e)
        if change is not None:
            self._follow(change)

    def stint_pace(self) -> float | None:
        """Median of the recent clean, fuel-corrected laps (None before two)."""
        recent = self.clean_recent
        return statistics.median(recent) if len(recent) >= 2 else None


_PACE_FIELDS = ("compounds_used", "stint_laps", "clean_recent", "lap_end")


def lap_is_clean(e: LapEvent) -> bool:
    """A timed green lap that is neither an in- nor an out-lap (nor the standing start).
    A lap deleted for track limits still counts: the lap CSVs the model learns from do not
    say which laps were deleted, and the features must be built alike."""
    return is_clean(e.lap_number, e.lap_time, e.track_status, e.pit_in, e.pit_out)


def apply_lap(s: SessionState, car: CarState, e: LapEvent) -> bool:
    """Apply a completed lap; False (and nothing changed) for a late or duplicate lap."""
    merge = standings.apply_lap(car.row, e)
    if not merge.fresh:
        return False
    car._follow(merge.tyres)
    laps_total = s.laps_total or e.lap_number
    clean = lap_is_clean(e)
    car.laps.append(
        e.lap_number, e.lap_time, clean, e.stint, e.compound, e.tyre_life,
        e.event_time.session_time, e.position, bool(set(e.track_status or "1") & set("4567")),
        laps_total,
    )  # fmt: skip
    if merge.current_stint and clean:
        fc = fuel_corrected(e.lap_time, e.lap_number, laps_total)
        car.stint_laps.append([e.tyre_life or 0.0, fc])
        car.clean_recent = [*car.clean_recent, fc][-PACE_LAPS:]
    s.leader_lap = max(s.leader_lap, e.lap_number)
    s.conditions.update_lap(
        e.driver, e.lap_number, e.lap_time, e.compound, pit_in=bool(e.pit_in),
        pit_out=bool(e.pit_out), track_status=e.track_status, deleted=bool(e.deleted),
        laps_total=s.laps_total,
    )  # fmt: skip
    # Gaps from the timing line: time behind the first car to complete the same lap.
    car.row.gap_to_leader = standings.gap_at_line(
        s.crossings, e.lap_number, e.event_time.session_time
    )
    car.lap_end = e.event_time.session_time
    return True


@dataclass(frozen=True)
class StintForecast:
    """A car's degradation in its current stint and its next laps' expected times."""

    fit: OnlineDegradation
    predicted: list[float]  # s, with fuel, for the next laps


def stint_forecast(
    s: SessionState, car: CarState, models: RaceModels, lap: int, horizon: int
) -> StintForecast:
    """Degradation of ``car``'s stint (the compound's prior at this circuit, updated with its
    clean laps) and its expected lap times over the next ``horizon`` laps after ``lap``."""
    compound = car.row.compound or "MEDIUM"
    prior = None
    if compound in models.priors:
        prior = models.priors[compound].slope * models.deg_scale.get(s.circuit, 1.0)
    fit = OnlineDegradation(compound, prior_slope=prior)
    for age, fc in car.stint_laps:
        fit.update(age, fc)
    ages = [float(car.row.tyre_age or 0) + k for k in range(1, horizon + 1)]
    laps_total = s.laps_total or lap
    predicted = [
        round(t + fuel_effect(laps_total - lap - k), 3)
        for k, t in enumerate(fit.predict(ages), start=1)
    ]
    return StintForecast(fit, predicted)


def features_of(
    s: SessionState, car: CarState, e: LapEvent, cars: dict[str, CarState]
) -> FeaturesEvent:
    """The per-lap features of ``car`` after its lap ``e``."""
    row = car.row
    ahead = behind = None
    if row.position is not None and row.gap_to_leader is not None:
        for other in cars.values():
            o = other.row
            if o.gap_to_leader is None or o.position is None:
                continue
            if o.position == row.position - 1:
                ahead = row.gap_to_leader - o.gap_to_leader
            elif o.position == row.position + 1:
                behind = o.gap_to_leader - row.gap_to_leader
    laps_total = s.laps_total or e.lap_number
    return FeaturesEvent(
        session_key=e.session_key,
        event_time=e.event_time,
        driver=row.driver,
        lap_number=e.lap_number,
        stint=row.stint,
        compound=row.compound,
        tyre_life=row.tyre_age,
        lap_time=e.lap_time,
        fuel_corrected_lap_time=fuel_corrected(e.lap_time, e.lap_number, laps_total)
        if e.lap_time is not None
        else None,
        stint_laps=len(car.stint_laps),
        stint_pace=car.stint_pace(),
        position=row.position,
        gap_to_leader=row.gap_to_leader,
        gap_ahead=ahead,
        gap_behind=behind,
        in_traffic=ahead is not None and 0 <= ahead < TRAFFIC_GAP_S,
        pit_in=e.pit_in,
        pit_out=e.pit_out,
        track_status=s.track_status,
        source_produced_at=e.produced_at,
    )


def race_state(s: SessionState, cars: dict[str, CarState]) -> RaceState:
    """The race model's view of the session: cars that have completed a lap, in order."""
    running = [
        c for c in cars.values() if (c.row.lap_number or 0) > 0 and not standings.is_out(c.row)
    ]
    leader_lap = s.leader_lap
    # Laps of different cars travel on different partitions, so a car may look several laps
    # down only because its laps are still queued: every car that has run stays in.
    running.sort(key=lambda c: (c.row.position or 99, -(c.row.lap_number or 0)))
    out = []
    for pos, c in enumerate(running, start=1):
        gap = c.row.gap_to_leader
        if gap is None:
            gap = 90.0 * max(leader_lap - (c.row.lap_number or 0), 0) + pos * 1.0
        out.append(
            DriverState(
                driver=c.driver,
                position=pos,
                gap_to_leader=float(gap),
                compound=c.row.compound or "UNKNOWN",
                tyre_age=int(c.row.tyre_age or 0),
                stops=c.row.stops or 0,
                compounds_used=tuple(c.compounds_used),
                pace=c.stint_pace(),
                team=c.row.team,
                in_pit=bool(c.row.pit_in),
            )
        )
    return RaceState(
        s.session_key,
        s.circuit,
        s.year,
        leader_lap,
        max(s.laps_total or leader_lap + 1, leader_lap + 1),
        s.track_status,
        out,
        history={c.driver: c.laps.copy() for c in cars.values() if len(c.laps)},
        sprint=s.session_key.endswith("-S"),
        out=tuple(sorted(c.driver for c in cars.values() if standings.is_out(c.row))),
        wet=s.conditions.estimate(leader_lap) if s.conditions.lap else None,
    )
