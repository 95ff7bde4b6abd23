"""The order once the stops under way and owed are made: what the win chances lean towards.

A car in the pit lane still has the out-lap part of its stop to lose, and every car still
owes the stops the field's typical race makes less those it made (at least the one the
two-compound rule asks on slicks in a dry race). Adding those losses to the
gaps gives the race order a strategist reads through a pit cycle:
the leader who has stopped keeps the lead over the car yet to stop. The Monte Carlo's
finishing order scatters more than real races do (``training.win_blend`` measures by how
much), so the win chances and expected positions are moved part of the way towards it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from strategy.compounds import DRY
from strategy.plan_table import Plan
from strategy.race_state import RaceState


def settled_gaps(
    state: RaceState, plans: Sequence[Plan], green_loss: float, out_share: float
) -> np.ndarray:
    """Each running car's gap to the leader (s) once its stop under way and its owed stops
    are made (``plans``: each car's plan, a car in the pit lane making its first stop now;
    ``green_loss``: a green stop's loss; ``out_share``: the part still to lose once a car
    has crossed the line on its in-lap)."""
    cars = state.running()
    planned = [len(p) - (d.in_pit and bool(p)) for d, p in zip(cars, plans, strict=True)]
    return np.array(
        [
            d.gap_to_leader + green_loss * (out_share * d.in_pit + owed)
            for d, owed in zip(cars, owed_stops(state, planned), strict=True)
        ]
    )


def owed_stops(state: RaceState, planned: Sequence[int]) -> np.ndarray:
    """The stops each running car still owes: as many as the field's typical race makes
    (the median of stops made plus planned: one car's odd plan does not reorder the race)
    less those it made or is making, and at least the one the two-compound rule still asks of it."""
    cars = state.running()
    made = np.array([d.stops + d.in_pit for d in cars])  # the stop under way is made
    typical = int(np.ceil(np.median(made + np.asarray(planned)))) if cars else 0
    dry_race = all(d.compound in DRY for d in cars)
    rule = np.array(
        [
            dry_race and not d.in_pit and len({*d.compounds_used, d.compound} & set(DRY)) < 2
            for d in cars
        ]
    )
    owed = np.maximum(typical - made, rule.astype(int))
    return np.where(state.laps_left > 1, owed, 0)


def settled_ranks(gaps: np.ndarray) -> np.ndarray:
    """Finishing places (1 = first) of ``settled_gaps``; ties keep the race order."""
    ranks = np.empty(len(gaps))
    ranks[np.argsort(gaps, kind="stable")] = np.arange(1, len(gaps) + 1)
    return ranks


def at_progress(weights: Sequence[float], done: float) -> float:
    """The weight for a race ``done`` (0-1) of the way through: ``weights`` by equal
    parts of the race (none: 0)."""
    if not weights:
        return 0.0
    return float(weights[min(int(done * len(weights)), len(weights) - 1)])


def lean(values: np.ndarray, towards: np.ndarray, weight: float) -> np.ndarray:
    """``values`` moved ``weight`` (in [0, 1]) of the way towards ``towards``."""
    if weight <= 0:
        return values
    return (1.0 - weight) * values + weight * towards


def lean_win(win: np.ndarray, gaps: np.ndarray, weight: float) -> np.ndarray:
    """Win chances moved ``weight`` of the way towards "the settled leader wins"; they still
    sum to what they summed to (the chance that some running car wins)."""
    if weight <= 0 or len(win) == 0:
        return win
    target = np.zeros(len(win))
    target[int(np.argmin(gaps))] = float(np.sum(win))
    return lean(win, target, weight)
