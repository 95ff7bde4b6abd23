"""A race at one moment, as the simulator and the decision engine take it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from strategy.lapfeatures import CarLaps
    from strategy.wet import TrackEstimate

#: Clean laps in a car's recent pace (``DriverState.pace``), as the worker and history see it.
PACE_LAPS = 5


@dataclass
class DriverState:
    """One car: where it is, on what tyres, how fast it has been going."""

    driver: str
    position: int
    gap_to_leader: float
    compound: str
    tyre_age: int
    stops: int = 0
    compounds_used: tuple[str, ...] = ()
    pace: float | None = None  # recent clean, fuel-corrected lap time, s
    team: str | None = None
    retired: bool = False
    #: its last lap was an in-lap: it is in the pit lane, with part of the stop still to lose
    in_pit: bool = False


@dataclass
class RaceState:
    """The whole field at the end of the leader's lap ``lap``."""

    session_key: str
    circuit: str
    year: int
    lap: int
    laps_total: int
    track_status: str = "green"
    drivers: list[DriverState] = field(default_factory=list)
    #: Every car's laps so far (retired cars too: they were part of the field), for the
    #: lap-time model; None: only ``DriverState.pace`` is known.
    history: Mapping[str, CarLaps] | None = None
    sprint: bool = False
    #: Cars out of the race (stopped or retired): no plan, no chance
    out: tuple[str, ...] = ()
    #: The track per tyre family now (``strategy.wet``): what the wet-weather advice reads;
    #: None: not followed (every car's plan stays on its kind of tyre)
    wet: TrackEstimate | None = None
    #: What the engine keeps of a session between its states (``strategy.pace.PaceMemo``):
    #: each car's pace inputs until it runs another lap. None: everything from the laps.
    memo: Any = field(default=None, compare=False, repr=False)

    @property
    def laps_left(self) -> int:
        return max(self.laps_total - self.lap, 0)

    def running(self) -> list[DriverState]:
        """Cars still in the race, in position order."""
        return sorted((d for d in self.drivers if not d.retired), key=lambda d: d.position)
