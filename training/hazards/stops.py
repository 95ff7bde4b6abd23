"""Time lost to a pit stop, per circuit: from in/out laps in the lap data, checked on Ergast.

``stop_losses`` measures every stop of the lap tables. A green-flag stop (in-lap and out-lap
both green) loses its in-lap + out-lap minus two of the driver's clean laps around them. A stop
whose pit entry came under a safety car (the in-lap's last track-status code 4) or a VSC (6 or
7) loses its in-lap + out-lap minus the same two laps of the cars that stayed out under the
same neutralisation (their median): everyone is slow then, so the driver's green pace says
nothing. Stops under a red flag, or where a neutralisation began or ended between pit entry
and the end of the out-lap, are left out. ``pit_loss_from_laps`` is the green median per
circuit; Ergast's pit-stop ``duration`` (pit entry to exit) is the cross-check.

A green-flag stop's ``out_share`` is the part of its loss that falls on the out-lap: a car that
has just crossed the line on its in-lap still has that part to lose. It depends on where the
line is against the pit lane (at Monaco, Montreal or Melbourne the boxes are past the line, so
most of the loss is on the in-lap).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from strategy.data import canonical_circuit, ergast_races, ergast_table

DEFAULT_PIT_LOSS = 22.0
#: Track-status code at pit entry -> the stop's status ("green" needs both laps all green).
NEUTRAL_CODES = {"4": "sc", "6": "vsc", "7": "vsc"}
#: Plausible losses (s): outside them a stop is a repair, a penalty or a timing glitch.
GREEN_RANGE = (8.0, 60.0)
NEUTRAL_RANGE = (0.0, 60.0)


def stop_losses(laps: pd.DataFrame) -> pd.DataFrame:
    """Every measurable stop: race_id, season, circuit (canonical), driver, lap (the in-lap),
    status ("green", "sc" or "vsc"), loss (s) and out_share (green stops: the out-lap's part
    of the loss; NaN under a neutralisation)."""
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
        ["lap", "lap_time", "pit_out", "pit_in", "green", "track_status"]
    ].shift(-1)
    next_green = nxt["green"].astype("boolean").fillna(False).astype(bool)
    next_out = nxt["pit_out"].astype("boolean").fillna(False).astype(bool)
    stop = (
        df["pit_in"]
        & (df["lap"] >= 2)
        & (nxt["lap"] == df["lap"] + 1)
        & next_out
        & df["lap_time"].notna()
        & nxt["lap_time"].notna()
    )
    two_laps = df["lap_time"] + nxt["lap_time"]
    green = stop & df["green"] & next_green & (n_clean >= 5) & near.notna()
    green_loss = two_laps - 2 * near
    out_share = (nxt["lap_time"] - near) / green_loss

    # Neutralised stops: against the cars that ran both laps without a stop, same status.
    entry = df["track_status"].str[-1].map(NEUTRAL_CODES)
    next_codes = nxt["track_status"].fillna("")
    steady = ~df["track_status"].str.contains("5", regex=False) & ~next_codes.str.contains(
        "[15]", regex=True
    )
    neutral = stop & entry.notna() & steady
    stayed = (
        ~df["pit_in"]
        & ~df["pit_out"]
        & ~nxt["pit_in"].astype("boolean").fillna(True).astype(bool)
        & ~next_out
        & (nxt["lap"] == df["lap"] + 1)
        & two_laps.notna()
        & entry.notna()
    )
    ref = (
        pd.DataFrame({"race_id": df["race_id"], "lap": df["lap"], "status": entry, "t": two_laps})[
            stayed
        ]
        .groupby(["race_id", "lap", "status"])["t"]
        .median()
        .rename("ref")
    )
    at = pd.DataFrame({"race_id": df["race_id"], "lap": df["lap"], "status": entry})[neutral]
    neutral_loss = two_laps[neutral] - at.join(ref, on=["race_id", "lap", "status"])["ref"]

    out = pd.concat(
        [
            _stops(df[green], "green", green_loss[green], GREEN_RANGE, out_share[green]),
            _stops(df[neutral], entry[neutral], neutral_loss, NEUTRAL_RANGE),
        ],
        ignore_index=True,
    )
    return out.sort_values(["race_id", "lap", "driver"]).reset_index(drop=True)


def _stops(rows: pd.DataFrame, status, loss: pd.Series, bounds: tuple[float, float],
           out_share: pd.Series | None = None):  # fmt: skip
    out = pd.DataFrame(
        {
            "race_id": rows["race_id"],
            "season": rows["season"],
            "circuit": rows["circuit"].map(canonical_circuit),
            "driver": rows["driver"],
            "lap": rows["lap"],
            "status": status,
            "loss": loss,
            "out_share": out_share if out_share is not None else float("nan"),
        }
    )
    return out[(out["loss"] > bounds[0]) & (out["loss"] < bounds[1])]


def pit_loss_from_laps(laps: pd.DataFrame) -> dict[str, float]:
    """Median pit loss (s) per circuit from green-flag stops (circuits with 5 or more)."""
    out = stop_losses(laps)
    out = out[out["status"] == "green"]
    return {c: float(g["loss"].median()) for c, g in out.groupby("circuit") if len(g) >= 5}


def ergast_pit_durations(
    data_dir: Path, since: int = 2018, until: int | None = None
) -> dict[str, float]:
    """Median Ergast pit-lane duration (s) per circuit, normal stops only (< 60 s)."""
    stops = ergast_table(data_dir, "pit_stops")
    races = ergast_races(data_dir)
    df = stops.merge(races[["raceId", "year", "circuit"]], on="raceId")
    df = df[(df["year"] >= since) & (df["year"] <= (until or 9999)) & (df["milliseconds"] < 60_000)]
    return {c: float(g["milliseconds"].median() / 1000) for c, g in df.groupby("circuit")}
