"""What the decision engine says of one car, as plain values: no schema objects are built
on the per-lap path. The edges (the stream worker, the API) turn it into the topic's JSON
(``as_dict`` has the fields and values of ``schemas.derived.DriverStrategy``) once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from strategy.rejoin import Rejoin


@dataclass(slots=True, frozen=True)
class Window:
    """Laps on which stopping gives an expected outcome within noise of the best."""

    open_lap: int
    close_lap: int
    best_lap: int


@dataclass(slots=True)
class Advice:
    """One car's recommendation at one moment of the race (``DriverStrategy``'s fields)."""

    driver: str
    position: int | None
    compound: str | None
    tyre_age: float | None
    stops: int
    pit_window: Window | None
    recommended_compound: str | None
    stay_out: bool
    pit_now: bool
    pit_under_sc: bool | None
    undercut_threat: float
    undercut_opportunity: float
    overcut_threat: float
    overcut_opportunity: float
    win_prob: float
    podium_prob: float
    expected_position: float | None
    predicted_position: int | None
    confidence: float
    rejoin: list[Rejoin]

    def as_dict(self) -> dict:
        """The recommendation as the strategy topic's JSON object has it."""
        out = {f: getattr(self, f) for f in self.__slots__ if f not in ("pit_window", "rejoin")}
        out["pit_window"] = asdict(self.pit_window) if self.pit_window is not None else None
        out["rejoin"] = [asdict(r) for r in self.rejoin]
        return out
