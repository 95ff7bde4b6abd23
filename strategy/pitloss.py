"""Time lost to a pit stop, per circuit: from in/out laps in the lap data, checked on Ergast.

Pit loss = in-lap + out-lap minus two of the driver's clean laps around them, on green laps
only. Ergast's pit-stop ``duration`` (pit entry to exit) is the cross-check.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from strategy.data import canonical_circuit, ergast_races, ergast_table

DEFAULT_PIT_LOSS = 22.0


def pit_loss_from_laps(laps: pd.DataFrame) -> dict[str, float]:
    """Median pit loss (s) per circuit from green-flag stops (vectorised over all stops)."""
    df = laps.sort_values(["race_id", "driver", "lap"])
    key = [df["race_id"], df["driver"]]
    clean = df["green"] & ~df["pit_in"] & ~df["pit_out"] & df["lap_time"].notna()
    clean_t = df["lap_time"].where(clean)
    # The driver's typical clean lap around the stop: median of the ~12 laps around it.
    near = clean_t.groupby(key, sort=False).transform(
        lambda t: t.rolling(12, center=True, min_periods=3).median()
    )
    n_clean = clean_t.groupby(key, sort=False).transform("count")
    nxt = df.groupby(["race_id", "driver"], sort=False)[
        ["lap", "lap_time", "pit_out", "green"]
    ].shift(-1)
    stop = (
        df["pit_in"]
        & (df["lap"] >= 2)
        & (nxt["lap"] == df["lap"] + 1)
        & df["green"]
        & nxt["green"].astype("boolean").fillna(False).astype(bool)
        & nxt["pit_out"].astype("boolean").fillna(False).astype(bool)
        & (n_clean >= 5)
        & near.notna()
        & df["lap_time"].notna()
        & nxt["lap_time"].notna()
    )
    loss = (df["lap_time"] + nxt["lap_time"] - 2 * near)[stop]
    out = pd.DataFrame({"circuit": df.loc[stop, "circuit"].map(canonical_circuit), "loss": loss})
    out = out[(out["loss"] > 8) & (out["loss"] < 60)]
    return {c: float(g["loss"].median()) for c, g in out.groupby("circuit") if len(g) >= 5}


def ergast_pit_durations(data_dir: Path, since: int = 2018) -> dict[str, float]:
    """Median Ergast pit-lane duration (s) per circuit, normal stops only (< 60 s)."""
    stops = ergast_table(data_dir, "pit_stops")
    races = ergast_races(data_dir)
    df = stops.merge(races[["raceId", "year", "circuit"]], on="raceId")
    df = df[(df["year"] >= since) & (df["milliseconds"] < 60_000)]
    return {c: float(g["milliseconds"].median() / 1000) for c, g in df.groupby("circuit")}
