"""Where a car would rejoin if it pitted now: position, and the cars either side with gaps.

A stop costs the circuit's pit loss (the in-lap and out-lap against two laps on track), less
under a safety car or a VSC, when the field runs slowly. The car that pits drops back by that
loss against every car that stays out, so its projected place is among the others' gaps to the
leader now, with its own gap plus the loss.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from strategy.race_state import DriverState, RaceState

#: Track statuses a projection is made for, and the label the recommendation carries.
STATUSES = ("green", "sc", "vsc")


@dataclass(frozen=True)
class Rejoin:
    """One car's projected place after a stop now, under one track status."""

    status: str
    pit_loss: float  # s
    position: int
    ahead: str | None
    gap_ahead: float | None  # s to the car ahead after the stop
    behind: str | None
    gap_behind: float | None  # s to the car behind


def rejoin(state: RaceState, i: int, pit_loss: float, status: str) -> Rejoin:
    """Projected place of running car ``i`` (position order) after a stop costing
    ``pit_loss`` seconds."""
    cars = state.running()
    return _project(cars, _by_gap(cars), i, pit_loss, status)


def rejoins(state: RaceState, losses: dict[str, float]) -> list[list[Rejoin]]:
    """For every running car (position order): its projection under each status of
    ``losses`` (status -> pit loss, s)."""
    cars = state.running()
    order = _by_gap(cars)
    return [
        [_project(cars, order, i, loss, status) for status, loss in losses.items()]
        for i in range(len(cars))
    ]


def _by_gap(cars: list[DriverState]) -> list[int]:
    return sorted(range(len(cars)), key=lambda k: cars[k].gap_to_leader)


def _project(
    cars: list[DriverState], order: list[int], i: int, pit_loss: float, status: str
) -> Rejoin:
    """``rejoin`` on the running cars and their indices by gap to the leader."""
    after = cars[i].gap_to_leader + pit_loss
    others = [cars[k] for k in order if k != i]
    n_ahead = bisect_right([c.gap_to_leader for c in others], after)
    a = others[n_ahead - 1] if n_ahead else None
    b = others[n_ahead] if n_ahead < len(others) else None
    return Rejoin(
        status=status,
        pit_loss=round(pit_loss, 2),
        position=n_ahead + 1,
        ahead=a.driver if a else None,
        gap_ahead=round(after - a.gap_to_leader, 2) if a else None,
        behind=b.driver if b else None,
        gap_behind=round(b.gap_to_leader - after, 2) if b else None,
    )
