"""Sector times and speed traps per driver, and their deltas to a reference driver."""

from __future__ import annotations

import pandas as pd

from analytics.laps import clean_laps

SECTORS = ("sector1", "sector2", "sector3")
SPEED_TRAPS = ("speed_i1", "speed_i2", "speed_fl", "speed_st")


def has_sectors(laps: pd.DataFrame) -> bool:
    return all(s in laps for s in SECTORS) and laps[list(SECTORS)].notna().any().all()


def sector_table(laps: pd.DataFrame, race: bool = True) -> pd.DataFrame:
    """Per driver: best and clean-lap median of each sector, the ideal lap (sum of bests),
    best lap, and the top and median speed at each trap the source has."""
    rows = []
    clean = clean_laps(laps, race)
    traps = [t for t in SPEED_TRAPS if t in laps]
    for driver, g in laps.groupby("driver"):
        c = clean[clean["driver"] == driver]
        row: dict[str, object] = {"driver": driver, "best_lap": g["lap_time"].min()}
        for s in SECTORS:
            if s in g:
                row[f"best_{s}"] = g[s].min()
                row[f"median_{s}"] = c[s].median() if len(c) else None
        if all(f"best_{s}" in row for s in SECTORS):
            row["ideal_lap"] = sum(row[f"best_{s}"] for s in SECTORS)  # type: ignore[misc]
        for t in traps:
            row[f"top_{t}"] = g[t].max()
            row[f"median_{t}"] = g[t].median()
        rows.append(row)
    return pd.DataFrame(rows)


def sector_deltas(table: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Each driver's best/median sectors, ideal lap and speeds minus ``reference``'s
    (negative time: faster than the reference; positive speed: quicker through the trap)."""
    ref = table.set_index("driver").loc[reference]
    cols = [c for c in table.columns if c != "driver"]
    deltas = table.set_index("driver")[cols].astype(float) - ref[cols].astype(float)
    return deltas.reset_index()
