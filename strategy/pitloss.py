"""Time lost to a pit stop, per circuit: from in/out laps in the lap data, checked on Ergast.

Pit loss = in-lap + out-lap minus two of the driver's clean laps around them, on green laps
only. Ergast's pit-stop ``duration`` (pit entry to exit) is the cross-check.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from strategy.data import ergast_races, ergast_table

DEFAULT_PIT_LOSS = 22.0


def pit_loss_from_laps(laps: pd.DataFrame) -> dict[str, float]:
    """Median pit loss (s) per circuit from green-flag stops."""
    rows = []
    for (_race, _driver), g in laps.groupby(["race_id", "driver"], sort=False):
        g = g.set_index("lap")
        clean = g[g["green"] & ~g["pit_in"] & ~g["pit_out"] & g["lap_time"].notna()]["lap_time"]
        if len(clean) < 5:
            continue
        for lap in g.index[g["pit_in"]]:
            if lap + 1 not in g.index or lap < 2:
                continue
            inn, out = g.loc[lap], g.loc[lap + 1]
            if not (inn["green"] and out["green"] and out["pit_out"]):
                continue
            near = clean[(clean.index >= lap - 5) & (clean.index <= lap + 6)]
            if len(near) < 3 or pd.isna(inn["lap_time"]) or pd.isna(out["lap_time"]):
                continue
            rows.append(
                (g["circuit"].iloc[0], inn["lap_time"] + out["lap_time"] - 2 * near.median())
            )
    df = pd.DataFrame(rows, columns=["circuit", "loss"])
    df = df[(df["loss"] > 8) & (df["loss"] < 60)]
    return {c: float(g["loss"].median()) for c, g in df.groupby("circuit") if len(g) >= 5}


def ergast_pit_durations(data_dir: Path, since: int = 2018) -> dict[str, float]:
    """Median Ergast pit-lane duration (s) per circuit, normal stops only (< 60 s)."""
    stops = ergast_table(data_dir, "pit_stops")
    races = ergast_races(data_dir)
    df = stops.merge(races[["raceId", "year", "circuit"]], on="raceId")
    df = df[(df["year"] >= since) & (df["milliseconds"] < 60_000)]
    return {c: float(g["milliseconds"].median() / 1000) for c, g in df.groupby("circuit")}
