"""Pit loss per circuit as a distribution, under green flag, safety car and VSC.

From the stops that ``training.hazards.pit_loss.stop_losses`` measures in the lap data:

- green: per circuit, the median loss and a robust spread (1.4826 x the median absolute
  deviation), each shrunk towards the all-circuit value with a weight of ``prior`` stops (a
  circuit with few stops, or none, leans on the others);
- SC and VSC: the share of the circuit's green loss a stop under them costs, and its spread,
  over all circuits (there are too few such stops per circuit for more);
- the losses follow a Student-t around that median with that scale: most stops sit close to
  it, a few (a slow wheel nut, a queue in the pit lane) far above.

- the out-lap's share of a green stop's loss, per circuit (the median over every training
  season: where the line sits against the pit lane does not change with the rules), for a car
  that has crossed the line on its in-lap and still has that part of the stop to lose.

Only the last ``seasons`` seasons of the training data count for the loss (pit lanes and their speed
limits change). ``seasons``, ``prior`` and the t's degrees of freedom are chosen on the
training seasons by forward chaining (each of the last training seasons predicted from the
ones before it), scored by the log-likelihood of its stops.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from strategy.circuits import canonical_circuit
from strategy.hazards.pit_loss import PitLossModel
from training.hazards.selection import choose
from training.history import ergast_races, ergast_table

STATUSES = ("green", "sc", "vsc")


GRID = {"seasons": (1, 2, 3, 6), "prior": (3.0, 10.0, 30.0), "df": (2.0, 4.0, 10.0)}


FORWARD_FOLDS = 3  # the last training seasons each predicted from the ones before


OUT_SHARE_MIN_STOPS = 5  # green stops a circuit needs for its own out-lap share


def robust_sd(values) -> float:
    """Standard deviation from the median absolute deviation (outliers count little)."""
    v = np.asarray(values, dtype=float)
    return float(1.4826 * np.median(np.abs(v - np.median(v)))) if len(v) else float("nan")


def fit_pit_loss(stops: pd.DataFrame, seasons: int, prior: float, df: float) -> PitLossModel:
    """Fit on ``stop_losses`` rows, keeping the last ``seasons`` seasons among them."""
    last = sorted(stops["season"].unique())[-seasons:]
    s = stops[stops["season"].isin(last)]
    green = s[s["status"] == "green"]
    if green.empty:
        raise ValueError("no green-flag stops to fit the pit loss on")
    med_all = float(green["loss"].median())
    by = green.groupby("circuit")["loss"]
    medians = by.median()
    resid = green["loss"] - green["circuit"].map(medians)
    sd_all = robust_sd(resid)
    table: dict[str, list[float]] = {}
    for circuit, losses in by:
        n = len(losses)
        med = (n * float(medians[circuit]) + prior * med_all) / (n + prior)
        sd_c = robust_sd(losses) if n >= 3 else sd_all
        sd = math.sqrt((n * sd_c**2 + prior * sd_all**2) / (n + prior))
        table[str(circuit)] = [med, max(sd, 0.3), float(n)]
    model = PitLossModel(table, [med_all, sd_all], {"green": 1.0}, {"green": 0.0}, float(df))
    for status in STATUSES[1:]:
        part = s[s["status"] == status]
        if len(part) < 5:
            continue
        ratio = part["loss"].to_numpy() / np.array(
            [model.distribution(c)[0] for c in part["circuit"]]
        )
        model.factor[status] = float(np.median(ratio))
        model.factor_sd[status] = robust_sd(ratio)
    model.seasons = [int(x) for x in last]
    model.stops = {k: int(v) for k, v in s["status"].value_counts().items()}
    return model


def _forward_score(stops: pd.DataFrame, params: dict, _features: list[str]) -> float:
    seasons = sorted(stops["season"].unique())
    total, count = 0.0, 0
    for season in seasons[-FORWARD_FOLDS:]:
        before, held = stops[stops["season"] < season], stops[stops["season"] == season]
        if before.empty or held.empty:
            continue
        m = fit_pit_loss(before, params["seasons"], params["prior"], params["df"])
        total -= float(m.logpdf(held["loss"], held["circuit"], held["status"]).sum())
        count += len(held)
    return total / max(count, 1)


def fit_pit_losses(stops: pd.DataFrame, grid: dict | None = None) -> PitLossModel:
    """Choose (forward chaining on the training seasons) and fit the pit-loss model."""
    seasons: Sequence[int] = sorted(int(s) for s in stops["season"].unique())
    sel = choose(
        grid or GRID,
        [],
        [],
        lambda p, f: _forward_score(stops, p, f),
        list(seasons[-FORWARD_FOLDS:]),
        metric="neg_log_likelihood",
    )
    p = sel.params
    model = fit_pit_loss(stops, int(p["seasons"]), p["prior"], p["df"])
    model.selection = sel
    model.out_share = fit_out_shares(stops)
    return model


def fit_out_shares(stops: pd.DataFrame, min_stops: int = OUT_SHARE_MIN_STOPS) -> dict[str, float]:
    """Median out-lap share of the green stops, per circuit with ``min_stops`` or more, and
    over all circuits (``"_all"``)."""
    green = stops[(stops["status"] == "green") & np.isfinite(stops["out_share"])]
    if green.empty:
        return {}
    by = green.groupby("circuit")["out_share"]
    out = {str(c): float(v.median()) for c, v in by if len(v) >= min_stops}
    out["_all"] = float(green["out_share"].median())
    return out


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
