"""Recent pace and results of drivers and teams, weighted towards the latest races.

A new pecking order (new rules in 2009, 2014, 2017, 2022, or a mid-season upgrade) shows first
in qualifying: the car that is fastest over one lap is on pole within a race or two, while
results and Elo ratings take many races to follow. ``PaceRecord`` keeps, per driver and per
team, an exponentially weighted mean of what each race showed:

* ``quali_gap``: the gap (%) of the best qualifying lap to the pole time (clipped to
  ``GAP_CLIP``, so a wet session or a car without a time does not swamp it); a team's is its
  best car's;
* ``quali_share``: the qualifying place as a share of the field (0 pole, 1 last), the grid's
  where there are no times (before 1994);
* ``finish_share``: the finishing place as a share of the field (classified or not);
* ``points_share``: points over the winner's.

``half_life`` (races) sets how fast old races fade; at each new season the weight of what came
before is multiplied by ``season_carry``, so the first races of a season count for more.
Values are NaN until a first race is seen.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

import numpy as np

GAP_CLIP = 5.0  # % behind pole: a slower lap says no more than this
KINDS = ("quali_gap", "quali_share", "finish_share", "points_share")


@dataclass
class Ewm:
    """An exponentially weighted mean of one series: decay per observation, carry per season."""

    weight: float = 0.0
    total: float = 0.0

    def add(self, value: float, decay: float) -> None:
        if np.isfinite(value):
            self.weight = decay * self.weight + 1.0
            self.total = decay * self.total + value

    def carry(self, share: float) -> None:
        self.weight *= share
        self.total *= share

    @property
    def value(self) -> float:
        return self.total / self.weight if self.weight > 0 else np.nan


@dataclass
class PaceRecord:
    """Exponentially weighted pace and results per driver and per team (module docstring)."""

    half_life: float = 2.0
    season_carry: float = 0.2
    series: dict[tuple[str, str, Hashable], Ewm] = field(default_factory=lambda: defaultdict(Ewm))

    @property
    def decay(self) -> float:
        return 0.5 ** (1.0 / self.half_life)

    def new_season(self) -> None:
        for ewm in self.series.values():
            ewm.carry(self.season_carry)

    def add(
        self,
        drivers: Iterable[Hashable],
        teams: Iterable[Hashable],
        values: dict[str, np.ndarray],
    ) -> None:
        """One race: per entrant (same order as ``drivers``/``teams``) the ``KINDS`` values;
        a team's value is its best car's (the lowest; for ``points_share`` the highest)."""
        drivers, teams = list(drivers), list(teams)
        d = self.decay
        for kind, v in values.items():
            best: dict[Hashable, float] = {}
            for driver, team, x in zip(drivers, teams, v, strict=True):
                self.series[("driver", kind, driver)].add(float(x), d)
                if np.isfinite(x):
                    better = max if kind == "points_share" else min
                    best[team] = better(best.get(team, x), float(x))
            for team, x in best.items():
                self.series[("team", kind, team)].add(x, d)

    def values(self, who: str, kind: str, keys: Iterable[Hashable]) -> np.ndarray:
        """The current mean of ``kind`` for each of ``keys`` (``who``: driver or team)."""
        got = self.series
        return np.array(
            [got[(who, kind, k)].value if (who, kind, k) in got else np.nan for k in keys],
            dtype=float,
        )


def session_gaps(times: np.ndarray) -> np.ndarray:
    """Each driver's qualifying gap (%): in each session (columns of ``times``, seconds, NaN
    where no time) the gap to that session's fastest, the smallest over the sessions he ran.
    Session by session, so a wet Q3 is not compared with a dry Q1; clipped to ``GAP_CLIP``."""
    times = np.asarray(times, dtype=float)
    with np.errstate(all="ignore"):
        fastest = np.where(np.isfinite(times), times, np.inf).min(axis=0)
        gaps = 100.0 * (times / fastest - 1.0)
    gaps = np.where(np.isfinite(gaps), gaps, np.inf).min(axis=1)
    return np.where(np.isfinite(gaps), np.clip(gaps, 0.0, GAP_CLIP), np.nan)


def quali_values(
    grid: np.ndarray, times: np.ndarray | None, place: np.ndarray | None
) -> dict[str, np.ndarray]:
    """``quali_gap`` and ``quali_share`` of one race's entrants: ``times`` (seconds per
    session, one row per entrant) give the gap; the qualifying ``place`` (else the grid) the
    share of the field."""
    n = len(grid)
    gap = session_gaps(times) if times is not None else np.full(n, np.nan)
    at = np.asarray(grid, dtype=float) if place is None else np.asarray(place, dtype=float)
    at = np.where(np.isfinite(at) & (at > 0), at, n)
    share = (at - 1.0) / max(1, n - 1)
    return {"quali_gap": gap, "quali_share": np.clip(share, 0.0, 1.0)}
