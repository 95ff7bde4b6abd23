"""The grid-slot record of the winner model: how often each grid slot (and each circuit's
pole) has won or reached the podium over the races seen.

``FeatureBuilder`` (``features.py``) keeps one and updates it after each race from the season
its ``grid_from`` names; thin slots are pulled towards the field's average rate.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

MAX_SLOT = 26  # grid slots tracked for the grid-slot record (pit-lane starts go last)


@dataclass
class GridRecord:
    """Wins and podiums from each grid slot (and each circuit's pole) over the races seen."""

    starts: np.ndarray = field(default_factory=lambda: np.zeros(MAX_SLOT + 1))
    wins: np.ndarray = field(default_factory=lambda: np.zeros(MAX_SLOT + 1))
    podiums: np.ndarray = field(default_factory=lambda: np.zeros(MAX_SLOT + 1))
    races: int = 0
    field_total: int = 0
    pole_races: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    pole_wins: dict[int, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, circuit: int, slots: np.ndarray, position: np.ndarray) -> None:
        won, podium = position == 1, position <= 3
        np.add.at(self.starts, slots, 1)
        np.add.at(self.wins, slots, won.astype(float))
        np.add.at(self.podiums, slots, podium.astype(float))
        self.races += 1
        self.field_total += len(slots)
        self.pole_races[circuit] += 1
        self.pole_wins[circuit] += int(bool(won[slots == 1].any()))

    def rates(self, slots: np.ndarray, strength: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
        """Smoothed win and podium rate of each slot: ``strength`` pseudo-starts at the
        average rate of the field (1 / field, 3 / field) pull thin slots towards it."""
        mean_field = self.field_total / self.races if self.races else 20.0
        s = self.starts[slots]
        win = (self.wins[slots] + strength / mean_field) / (s + strength)
        podium = (self.podiums[slots] + 3 * strength / mean_field) / (s + strength)
        return win, podium

    def circuit_pole_win(self, circuit: int, strength: float = 3.0) -> float:
        overall = sum(self.pole_wins.values()) / max(1, sum(self.pole_races.values()))
        return (self.pole_wins[circuit] + strength * overall) / (
            self.pole_races[circuit] + strength
        )


def grid_slots(grid: Iterable[float], n_field: int) -> np.ndarray:
    """Grid positions as slots 1..MAX_SLOT; 0 / missing (pit lane) start last."""
    g = np.asarray(list(grid), dtype=float)
    g = np.where(~np.isfinite(g) | (g <= 0), n_field, g)
    return np.clip(g, 1, MAX_SLOT).astype(int)
