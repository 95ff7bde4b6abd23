"""Elo ratings of drivers and constructors, updated race by race.

A race is scored as every pair of starters: the one classified ahead beat the other. Each
rating moves by ``k / (n - 1)`` times the sum over its pairs of (result - expected), so a
race weighs the same whatever the field size. Constructors are rated on their best-placed
car. Between seasons, ratings move part of the way back to the mean (cars change every
winter, drivers less), and a newcomer starts below the mean.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np

MEAN = 1500.0


@dataclass(frozen=True)
class EloConfig:
    """Elo parameters (K chosen by walk-forward over 2014-2022, ``benchmarks/RESULTS.md``)."""

    k_driver: float = 32.0
    k_constructor: float = 24.0
    newcomer_offset: float = -100.0  # a driver/team's first rating relative to MEAN
    season_regression_driver: float = 0.2  # share of the distance to MEAN taken back each winter
    season_regression_constructor: float = 0.35
    #: K is (1 + early_boost) times larger at a season's first race, fading with
    #: ``early_races`` races: a new car's pace moves the ratings at once
    early_boost: float = 0.0
    early_races: float = 3.0

    def k_factor(self, races_done: int) -> float:
        """The multiplier of K after ``races_done`` races of the season."""
        return 1.0 + self.early_boost * float(np.exp(-races_done / self.early_races))


def pairwise_update(ratings: np.ndarray, order: np.ndarray, k: float) -> np.ndarray:
    """Rating changes of one race; ``order`` is each competitor's finishing rank (1 = won)."""
    n = len(ratings)
    if n < 2:
        return np.zeros(n)
    diff = ratings[None, :] - ratings[:, None]  # r_j - r_i
    expected = 1.0 / (1.0 + 10.0 ** (diff / 400.0))  # P(i beats j)
    score = (order[:, None] < order[None, :]).astype(float)
    score += 0.5 * (order[:, None] == order[None, :])
    np.fill_diagonal(score, 0.0)
    np.fill_diagonal(expected, 0.0)
    return k / (n - 1) * (score - expected).sum(axis=1)


@dataclass
class EloTable:
    """The current ratings of one kind of competitor (drivers or constructors)."""

    k: float
    newcomer: float
    regression: float
    ratings: dict[Hashable, float] = field(default_factory=dict)

    def get(self, key: Hashable) -> float:
        return self.ratings.get(key, self.newcomer)

    def get_many(self, keys: Sequence[Hashable]) -> np.ndarray:
        return np.array([self.get(k) for k in keys], dtype=float)

    def update(self, keys: Sequence[Hashable], order: Sequence[float], boost: float = 1.0) -> None:
        current = self.get_many(keys)
        delta = pairwise_update(current, np.asarray(order, dtype=float), self.k * boost)
        for key, value in zip(keys, current + delta, strict=True):
            self.ratings[key] = float(value)

    def new_season(self) -> None:
        for key, value in self.ratings.items():
            self.ratings[key] = value + self.regression * (MEAN - value)


@dataclass
class Elo:
    """Driver and constructor ratings; ``update`` takes one race's classification."""

    config: EloConfig = field(default_factory=EloConfig)
    season: int | None = None
    races_done: int = 0  # races of the current season learnt

    def __post_init__(self) -> None:
        c = self.config
        self.drivers = EloTable(c.k_driver, MEAN + c.newcomer_offset, c.season_regression_driver)
        self.constructors = EloTable(
            c.k_constructor, MEAN + c.newcomer_offset, c.season_regression_constructor
        )

    def start_season(self, season: int) -> None:
        """Regress to the mean once when a new season begins."""
        if self.season is not None and season != self.season:
            self.drivers.new_season()
            self.constructors.new_season()
        if season != self.season:
            self.races_done = 0
        self.season = season

    def update(
        self,
        drivers: Sequence[Hashable],
        constructors: Sequence[Hashable],
        position_order: Sequence[float],
    ) -> None:
        """One race: each starter's driver, constructor and final order (1 = winner)."""
        order = np.asarray(position_order, dtype=float)
        boost = self.config.k_factor(self.races_done)
        self.races_done += 1
        self.drivers.update(list(drivers), order, boost)
        best: dict[Hashable, float] = {}
        for team, pos in zip(constructors, order, strict=True):
            best[team] = min(best.get(team, np.inf), pos)
        teams = list(best)
        self.constructors.update(teams, [best[t] for t in teams], boost)
