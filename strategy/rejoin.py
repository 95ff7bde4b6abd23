"""Where a car would rejoin if it pitted now: position, and the cars either side with gaps.

A stop costs the circuit's pit loss (the in-lap and out-lap against two laps on track), less
under a safety car or a VSC, when the field runs slowly. The car that pits drops back by that
loss against every car that stays out, so its projected place is among the others' gaps to the
leader now, with its own gap plus the loss. A car in the pit lane now (it has just crossed the
line on its in-lap) counts with the part of its own stop still to come (``out_share`` of the
loss), since it will lose that on its out-lap.
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


def rejoin(
    state: RaceState, i: int, pit_loss: float, status: str, out_share: float = 0.0
) -> Rejoin:
    """Projected place of running car ``i`` (position order) after a stop costing
    ``pit_loss`` seconds; ``out_share``: the part of a stop still to come for a car in the
    pit lane now."""
    cars = state.running()
    return _project(cars, _gaps(cars, pit_loss * out_share), i, pit_loss, status)


def rejoins(
    state: RaceState, losses: dict[str, float], out_share: float = 0.0
) -> list[list[Rejoin]]:
    """For every running car (position order): its projection under each status of
    ``losses`` (status -> pit loss, s)."""
    cars = state.running()
    gaps = {status: _gaps(cars, loss * out_share) for status, loss in losses.items()}
    return [
        [_project(cars, gaps[status], i, loss, status) for status, loss in losses.items()]
        for i in range(len(cars))
    ]


def _gaps(cars: list[DriverState], still_to_lose: float) -> list[tuple[float, int]]:
    """(gap to the leader once the stops under way are done, index), smallest first."""
    return sorted(
        (c.gap_to_leader + (still_to_lose if c.in_pit else 0.0), k) for k, c in enumerate(cars)
    )


def _project(
    cars: list[DriverState], gaps: list[tuple[float, int]], i: int, pit_loss: float, status: str
) -> Rejoin:
    """``rejoin`` on the running cars and their gaps (from ``_gaps``, sorted)."""
    after = cars[i].gap_to_leader + pit_loss
    values = [g for g, _ in gaps]
    k = bisect_right(values, after)  # entries at or before ``after``, the car's own among them
    own_before = any(j == i for _g, j in gaps[:k])
    n_ahead = k - 1 if own_before else k
    a = _neighbour(gaps, k - 1, i, -1)
    b = _neighbour(gaps, k, i, +1)
    return Rejoin(
        status=status,
        pit_loss=round(pit_loss, 2),
        position=n_ahead + 1,
        ahead=cars[a[1]].driver if a else None,
        gap_ahead=round(after - a[0], 2) if a else None,
        behind=cars[b[1]].driver if b else None,
        gap_behind=round(b[0] - after, 2) if b else None,
    )


def _neighbour(
    gaps: list[tuple[float, int]], k: int, skip: int, step: int
) -> tuple[float, int] | None:
    """The entry at ``k`` (or the next one in ``step``'s direction), other than car ``skip``."""
    while 0 <= k < len(gaps):
        if gaps[k][1] != skip:
            return gaps[k]
        k += step
    return None
