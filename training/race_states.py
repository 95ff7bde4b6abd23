"""Past races as the worker would have held them, lap by lap (``state_at``): the field in the
order it crossed the line, gaps, tyres, the track status and every car's laps so far, for
back-tests and fits.

Nothing here looks ahead. The state after the leader's lap L is what the worker holds when
the leader crosses the line: every car at its latest crossing by then (most cars are still on
lap L, their last crossing a lap behind), with its laps so far. A car is in the race while it
keeps arriving at the line: one that has not crossed it for ``ARRIVAL_LAPS`` of the leader's
laps has stopped, as the worker sees it (the result tables, which know who retired and when,
are not read). A lap row without a lap time, neither an in- or out-lap nor under a
neutralisation, ending more than ``GHOST_GAP_S`` after the car's previous crossing, is a lap it
never finished (the timing's ghost of a car that stopped on track), not a crossing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from strategy.compounds import DRY
from strategy.lapfeatures import CarLaps
from strategy.race_state import DriverState, RaceState
from training.laptime import race_cars

#: Leader laps without a crossing after which a car counts as stopped (a pit stop costs less
#: than half a lap, so a running car always crosses within this).
ARRIVAL_LAPS = 1.5
#: Seconds between two crossings of a racing car at most, without a neutralisation.
GHOST_GAP_S = 240.0
#: Track-status codes (FastF1) -> the race model's status; the last code of a lap holds.
STATUS_OF_CODE = {"1": "green", "2": "yellow", "4": "sc", "5": "red", "6": "vsc", "7": "vsc_ending"}


def crossings(race: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``race`` that are real crossings of the line, with a time."""
    timed = race.dropna(subset=["time"]).sort_values(["driver", "lap"])
    gap = timed.groupby("driver")["time"].diff()
    untimed = timed["lap_time"].isna() & (timed["lap"] > 1)
    plain = ~timed["pit_in"] & ~timed["pit_out"] & ~timed["neutralised"]
    return timed[~(untimed & plain & (gap > GHOST_GAP_S))]


@dataclass
class _CarTrack:
    """One car's crossings in time order, with what the worker knows after each."""

    times: np.ndarray
    rows: list[Any]
    used: list[tuple[str, ...]]  # dry compounds run up to each crossing


class RaceTimeline:
    """One race's crossings, indexed once, and the field as the worker holds it at any
    moment: after a leader lap (``state``) or when a car crosses the line (``state_at``)."""

    def __init__(self, race: pd.DataFrame, cars: Mapping[str, CarLaps] | None = None) -> None:
        self.race = race
        self.cars = cars if cars is not None else race_cars(race)
        rows = crossings(race)
        self.leader_times = rows.groupby("lap")["time"].min()
        self._lap_span = float(self.leader_times.diff().median())
        self.first = race.iloc[0]
        by_time = rows.sort_values("time")
        #: each lap's track-status codes as the leader's lap shows them
        self.status = by_time.groupby("lap")["track_status"].first().astype(str)
        self.tracks: dict[str, _CarTrack] = {}
        for driver, g in rows.sort_values("time").groupby("driver"):
            used, seen = [], ()
            for c in g["compound"]:
                seen = (*seen, c) if c in DRY and c not in seen else seen
                used.append(seen)
            track = _CarTrack(g["time"].to_numpy(float), list(g.itertuples(index=False)), used)
            self.tracks[str(driver)] = track
        self.crossings = by_time[["time", "driver", "lap"]]

    def state(self, lap: int) -> RaceState | None:
        """The race when the leader completes lap ``lap`` (None with fewer than three cars)."""
        if lap not in self.leader_times:
            return None
        return self.state_at(float(self.leader_times[lap]))

    def leader_lap(self, t: float) -> int:
        """The leader's laps completed at session time ``t``."""
        return int(np.searchsorted(self.leader_times.to_numpy(float), t, side="right"))

    def state_at(self, t: float) -> RaceState | None:
        """The race at session time ``t``: each car at its latest crossing by then."""
        lap = self.leader_lap(t)
        if lap < 1:
            return None
        t_lap = float(self.leader_times.iloc[lap - 1])
        prev = float(self.leader_times.iloc[lap - 2]) if lap >= 2 else t_lap - self._lap_span
        horizon = t - ARRIVAL_LAPS * max(t_lap - prev, 1.0)
        latest = []
        for driver, track in self.tracks.items():
            k = int(np.searchsorted(track.times, t, side="right")) - 1
            if k >= 0 and track.times[k] >= horizon:
                latest.append((driver, track, k))
        if len(latest) < 3:
            return None
        latest.sort(key=lambda x: (-x[1].rows[x[2]].lap, x[1].times[x[2]]))
        drivers = [self._driver(track, k, pos) for pos, (_d, track, k) in enumerate(latest, 1)]
        history = {}
        for d, c in self.cars.items():
            track = self.tracks.get(d)
            k = int(np.searchsorted(track.times, t, side="right")) - 1 if track else -1
            history[d] = c.upto(int(track.rows[k].lap) if k >= 0 else 0)
        first = self.first
        status = STATUS_OF_CODE.get(str(self.status.get(lap, "1"))[-1:], "green")
        return RaceState(
            str(first["race_id"]), first["circuit"], int(first["season"]), lap,
            int(first["laps_total"]), status, drivers, history, bool(first["sprint"]),
        )  # fmt: skip

    def _driver(self, track: _CarTrack, k: int, pos: int) -> DriverState:
        """A car at its crossing ``k``; its gap, at that crossing, to the leader's crossing of
        the same lap (a car laps down is more than a lap behind)."""
        row = track.rows[k]
        t_own = float(self.leader_times.get(row.lap, track.times[k]))
        gap = float(track.times[k] - t_own)
        laps = self.cars[row.driver].upto(int(row.lap))
        stint = int(row.stint) if not pd.isna(row.stint) else 1
        compound = row.compound if row.compound in (*DRY, "INTERMEDIATE", "WET") else "MEDIUM"
        return DriverState(
            driver=row.driver,
            position=pos,
            gap_to_leader=gap,
            compound=compound,
            tyre_age=int(row.tyre_life) if not pd.isna(row.tyre_life) else int(row.lap),
            stops=max(stint - 1, 0),
            compounds_used=track.used[k],
            pace=laps.ewm[-1] if laps.ewm and not math.isnan(laps.ewm[-1]) else None,
            team=row.team,
            in_pit=bool(row.pit_in),
        )


def state_at(race: pd.DataFrame, cars: Mapping[str, CarLaps], lap: int) -> RaceState | None:
    """The race after the leader's lap ``lap``, as the worker would hold it (see the module
    docstring). For many laps of one race, build a :class:`RaceTimeline` once."""
    return RaceTimeline(race, cars).state(lap)


def state_of(race: pd.DataFrame, lap: int) -> RaceState | None:
    """The state of one race (its rows of ``read_laps``) after the leader's lap ``lap``."""
    return state_at(race, race_cars(race), lap)


def stops_of(race: pd.DataFrame) -> list[tuple[str, int]]:
    """(driver, in-lap) of every stop: the in-lap of a stint that has a next one."""
    out = []
    for driver, g in race.sort_values("lap").groupby("driver"):
        stints = g["stint"].to_numpy()
        laps = g["lap"].to_numpy()
        for k in range(len(g) - 1):
            if stints[k + 1] != stints[k] and laps[k + 1] == laps[k] + 1:
                out.append((str(driver), int(laps[k])))
    return out


def last_lap_of(race: pd.DataFrame) -> dict[str, int]:
    """Each car's last real crossing (its laps completed, as the timing shows them)."""
    rows = crossings(race)
    return {str(d): int(v) for d, v in rows.groupby("driver")["lap"].max().items()}
