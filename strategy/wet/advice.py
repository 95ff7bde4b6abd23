"""Crossover advice: per car, which tyre family to be on over the laps ahead, and when to switch.

:func:`family_offsets` turns a :class:`~strategy.wet.conditions.TrackEstimate` into what the
plan table needs to score a switch like any stop: for each family, the expected seconds per
lap it is slower (+) or faster (-) than the car's current family on each lap ahead.
:func:`crossover_lap` scores every switch lap for every other family against staying on the
current one (time over the rest of the race plus the pit loss) and says whether and when.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from strategy.wet.conditions import TrackEstimate
from strategy.wet.families import FAMILIES


def family_offsets(estimate: TrackEstimate, laps_ahead: int, current: str) -> dict[str, np.ndarray]:
    """Per family, expected s/lap against ``current`` for laps ``lap+1 .. lap+laps_ahead``.

    ``current`` is a family (:func:`~strategy.wet.families.family_of`). Zeros for the current
    family; NaN on laps where a family's pace is unknown. The field's recent moves from the
    current family to another count as evidence that the other is faster
    (``WetParams.herd`` of a lap per share of the field that moved).
    """
    laps_ahead = max(int(laps_ahead), 0)
    own = estimate.pace(current, laps_ahead)
    out = {}
    for fam in FAMILIES:
        if fam == current:
            out[fam] = np.zeros(laps_ahead)
            continue
        theirs = estimate.pace(fam, laps_ahead)
        share = estimate.move_share(current, fam)
        if share and np.isnan(theirs).all() and not np.isnan(own).all():
            theirs = own.copy()  # nobody's pace known on it yet: the field's moves alone
        herd = estimate.params.herd * share * own
        out[fam] = theirs - own - np.nan_to_num(herd)
    return out


@dataclass(frozen=True)
class CrossoverAdvice:
    """Whether a car should change tyre family, onto which and at the end of which lap."""

    family: str | None  # None: stay on the current family
    lap: int | None  # the in-lap of the switch
    gain: float  # expected seconds gained to the flag, after the pit loss
    offsets: dict[str, np.ndarray]  # family_offsets over the rest of the race
    first_lap: int = 0  # the first lap a car can still pit at the end of

    @property
    def now(self) -> bool:
        """Switch at the end of the next lap."""
        return self.family is not None and self.lap == self.first_lap


def crossover_lap(
    estimate: TrackEstimate,
    current: str,
    laps_left: int,
    pit_loss: float,
    margin: float | None = None,
) -> CrossoverAdvice:
    """The best switch for a car on ``current`` with ``laps_left`` laps to the flag.

    Stopping at the end of lap ``estimate.lap + s`` (s >= 1) onto family G gains the sum of
    G's offsets over the laps after it, less ``pit_loss``; the best (G, s) is advised when
    it gains more than ``margin`` (default ``WetParams.margin``) seconds.
    """
    margin = estimate.params.margin if margin is None else margin
    laps_left = max(int(laps_left), 0)
    offsets = family_offsets(estimate, laps_left, current)
    best: tuple[float, str | None, int | None] = (0.0, None, None)
    if laps_left >= 2:
        for fam, off in offsets.items():
            if fam == current:
                continue
            # gain of switching after lap s: -(sum of offsets on laps s+1..laps_left)
            tail = -np.cumsum(np.nan_to_num(off[::-1], nan=np.inf))[::-1]
            gains = tail[1:] - pit_loss  # stop after lap s = 1 .. laps_left-1
            if not len(gains) or not np.isfinite(gains).any():
                continue
            gains = np.where(np.isfinite(gains), gains, -np.inf)
            s = int(np.argmax(gains))
            if gains[s] > best[0] and gains[s] > margin:
                best = (float(gains[s]), fam, estimate.lap + 1 + s)
    gain, fam, lap = best
    return CrossoverAdvice(fam, lap, gain, offsets, estimate.lap + 1)
