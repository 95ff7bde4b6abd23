"""The championships as they stand before a race, and how often each place has won since.

Before a season's first race the order is the previous season's final one (a driver or team
without a place then goes last): that is what "the championship leader" and "the constructors'
order" mean on the opening weekend. ``Championship`` keeps the points of the season so far and
the last season's, and the record of wins and podiums by the drivers' place and by their
team's place (``SlotRecord``), the rates of the before-qualifying baselines.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np

from prerace.grid_record import MAX_SLOT, SlotRecord


def places(keys: Sequence[Hashable], table: dict[Hashable, float], n_field: int) -> np.ndarray:
    """Each key's place in ``table`` (1 + those with strictly more points); keys absent from
    it go after everyone in it (and at least at ``n_field``)."""
    values = sorted(table.values(), reverse=True)
    last = max(n_field, len(values) + 1)
    out = np.empty(len(keys))
    for i, k in enumerate(keys):
        if k in table:
            p = table[k]
            out[i] = 1 + sum(v > p for v in values)
        else:
            out[i] = last
    return np.clip(out, 1, MAX_SLOT)


@dataclass
class Championship:
    """Points this season and last, and the standings' win/podium record (module doc)."""

    points: dict[Hashable, float] = field(default_factory=lambda: defaultdict(float))
    team_points: dict[Hashable, float] = field(default_factory=lambda: defaultdict(float))
    last_points: dict[Hashable, float] = field(default_factory=dict)
    last_team_points: dict[Hashable, float] = field(default_factory=dict)
    driver_record: SlotRecord = field(default_factory=SlotRecord)
    team_record: SlotRecord = field(default_factory=SlotRecord)

    def new_season(self) -> None:
        if self.points:
            self.last_points, self.last_team_points = dict(self.points), dict(self.team_points)
        self.points.clear()
        self.team_points.clear()

    @property
    def started(self) -> bool:
        return bool(self.points)

    def slots(
        self, drivers: Sequence[Hashable], teams: Sequence[Hashable]
    ) -> tuple[np.ndarray, np.ndarray]:
        """The drivers' and their teams' places before the race (module docstring)."""
        n = len(drivers)
        d_table = self.points if self.started else self.last_points
        t_table = self.team_points if self.started else self.last_team_points
        return (
            places(drivers, d_table, n).astype(int),
            places(teams, t_table, n // 2 + 1).astype(int),
        )

    def record(
        self, drivers: Sequence[Hashable], teams: Sequence[Hashable], position: np.ndarray
    ) -> None:
        """Add a race's result to the standings' record (before its points are scored)."""
        d_slot, t_slot = self.slots(drivers, teams)
        self.driver_record.add_slots(d_slot, position)
        self.team_record.add_slots(t_slot, position)

    def score(self, driver: Hashable, team: Hashable, pts: float) -> None:
        self.points[driver] += pts
        self.team_points[team] += pts

    def columns(
        self, drivers: Sequence[Hashable], teams: Sequence[Hashable]
    ) -> dict[str, np.ndarray]:
        """Per entrant: this season's places and gap to the leader (NaN before the first
        race), the places before the race (``standing``, ``team_standing``, last season's
        at the first race) and the win/podium rates of those places."""
        n = len(drivers)
        started = self.started
        champ = np.array([self.points.get(d, 0.0) for d in drivers])
        leader = max(self.points.values()) if started else 0.0
        d_slot, t_slot = self.slots(drivers, teams)
        nan = np.full(n, math.nan)
        cols = {
            "champ_pos": d_slot.astype(float) if started else nan,
            "champ_gap": (leader - champ) / max(leader, 1.0) if started else nan,
            "team_champ_pos": t_slot.astype(float) if started else nan,
            "standing": d_slot.astype(float),
            "team_standing": t_slot.astype(float),
        }
        cols["standing_win_rate"], cols["standing_podium_rate"] = self.driver_record.rates(d_slot)
        cols["team_standing_win_rate"], cols["team_standing_podium_rate"] = self.team_record.rates(
            t_slot
        )
        return cols
