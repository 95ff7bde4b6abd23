"""Past races as the worker would have held them, lap by lap (``state_at``): the field in the
order it crossed the line, gaps, tyres and every car's laps so far, for back-tests and fits.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from strategy.compounds import DRY
from strategy.lapfeatures import CarLaps
from strategy.race_state import DriverState, RaceState
from training.laptime import race_cars


def state_at(
    race: pd.DataFrame, cars: Mapping[str, CarLaps], lap: int, out: set[str]
) -> RaceState | None:
    """The race after the leader's lap ``lap``, as the worker would hold it: cars in the
    order they crossed the line, gaps at the line, each car's laps so far. ``out``: cars that
    have retired by then."""
    now = race[race["lap"] == lap].dropna(subset=["time"]).sort_values("time")
    behind = race[(race["lap"] == lap - 1)].dropna(subset=["time"])
    if len(now) < 3:
        return None
    lead = now["time"].iloc[0]
    first = race.iloc[0]
    drivers: list[DriverState] = []
    rows = list(now.itertuples())
    seen = {r.driver for r in rows}
    # cars a lap down have not completed this lap yet: their last crossing, a lap behind
    lapped = [r for r in behind.sort_values("time").itertuples() if r.driver not in seen]
    lead_prev = race[race["lap"] == lap - 1]["time"].min()
    for pos, row in enumerate(rows + lapped, start=1):
        if row.driver in out:
            continue
        laps = cars[row.driver].upto(lap)
        done = race[(race["driver"] == row.driver) & (race["lap"] <= lap)]
        used = tuple(c for c in done["compound"].unique() if c in DRY)
        stint = int(row.stint) if not pd.isna(row.stint) else 1
        if row.lap == lap:
            gap = float(row.time - lead)
        else:  # a lap down: its gap at its own last crossing, plus a lap
            gap = float(row.time - lead_prev) + float(lead - lead_prev)
        drivers.append(
            DriverState(
                driver=row.driver,
                position=pos,
                gap_to_leader=gap,
                compound=row.compound
                if row.compound in (*DRY, "INTERMEDIATE", "WET")
                else "MEDIUM",
                tyre_age=int(row.tyre_life) if not pd.isna(row.tyre_life) else lap,
                stops=max(stint - 1, 0),
                compounds_used=used,
                pace=laps.ewm[-1] if laps.ewm and not math.isnan(laps.ewm[-1]) else None,
                team=row.team,
                in_pit=bool(row.pit_in),
            )
        )
    for k, d in enumerate(drivers, start=1):
        d.position = k
    history = {d: c.upto(lap) for d, c in cars.items()}
    return RaceState(
        str(first["race_id"]), first["circuit"], int(first["season"]), lap,
        int(first["laps_total"]), "green", drivers, history, bool(first["sprint"]),
    )  # fmt: skip


def state_of(race: pd.DataFrame, lap: int) -> RaceState | None:
    """The state of one race (its rows of ``read_laps``) after the leader's lap ``lap``."""
    return state_at(race, race_cars(race), lap, set())


def _stops(race: pd.DataFrame) -> list[tuple[str, int]]:
    """(driver, lap) of every stop: the in-lap of a stint that has a next one."""
    out = []
    for driver, g in race.sort_values("lap").groupby("driver"):
        stints = g["stint"].to_numpy()
        laps = g["lap"].to_numpy()
        for k in range(len(g) - 1):
            if stints[k + 1] != stints[k] and laps[k + 1] == laps[k] + 1:
                out.append((str(driver), int(laps[k])))
    return out
