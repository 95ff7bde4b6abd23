"""A race's pairs of adjacent cars, lap by lap, with what the cars knew and what happened
next (the history the battle forecast learns from and is back-tested on)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from strategy.circuits import canonical_circuit
from strategy.compounds import DRY
from strategy.fuel import FUEL_S_PER_LAP
from strategy.laptime import clean_mask_as_known
from strategy.race_state import PACE_LAPS

HORIZONS = (1, 3, 5)
DRS_GAP_S = 1.0
#: Pairs closer than this (s) at the line count towards a circuit's passing rate.
CLOSE_GAP_S = 1.5
#: Weight, in close pair-laps, of the overall rate in a circuit's shrunk passing rate.
RATE_PRIOR_LAPS = 200.0


def tyre_kind(compound: str) -> str:
    """Dry tyres are one kind; intermediates and wets each another (pace starts over)."""
    return "dry" if compound in DRY else compound


def recent_pace(laps: pd.DataFrame) -> pd.Series:
    """Per lap: median of the driver's last ``PACE_LAPS`` clean, fuel-corrected laps on the
    same kind of tyre (None before two), as ``DriverState.pace`` holds it live."""
    df = laps.sort_values(["race_id", "driver", "lap"])
    clean = clean_mask_as_known(df)
    fc = (df["lap_time"] - FUEL_S_PER_LAP * (df["laps_total"] - df["lap"])).where(clean)
    kind = df["compound"].map(tyre_kind)
    # A new block each time the driver changes kind of tyre: the pace starts over.
    same = (
        (kind == kind.shift())
        & (df["driver"] == df["driver"].shift())
        & (df["race_id"] == df["race_id"].shift())
    )
    block = (~same).cumsum().to_numpy()
    values = fc.to_numpy(float)
    out = np.full(len(values), np.nan)
    recent: list[float] = []
    for i in range(len(values)):
        if i == 0 or block[i] != block[i - 1]:
            recent = []
        if not np.isnan(values[i]):
            recent = [*recent[1 - PACE_LAPS :], values[i]]
        if len(recent) >= 2:
            out[i] = float(np.median(recent))
    return pd.Series(out, index=df.index).reindex(laps.index)


def _stop_lap(ok: np.ndarray) -> np.ndarray:
    """Index (1-based, per row) of the first False in each row of ``ok``; width+1 if none."""
    width = ok.shape[1]
    bad = ~ok
    first = np.where(bad.any(axis=1), bad.argmax(axis=1) + 1, width + 1)
    return first


def pair_frame(laps: pd.DataFrame, horizon: int = max(HORIZONS)) -> pd.DataFrame:
    """Adjacent pairs at the end of every lap from 1 on, with their state and outcome.

    Columns: race_id, circuit, lap, laps_total, position (of the car behind), ahead, behind,
    gap, pace_ahead, pace_behind, tyre_age_ahead/behind, compound_ahead/behind, and
    ``pass_lap`` (laps until the car behind was first ahead, 0: not within ``horizon``) and
    ``cut_lap`` (laps until the first lap that censors the window, 0: none within it).
    """
    df = laps.copy()
    df["pace"] = recent_pace(df)
    df = df.dropna(subset=["position", "time"])
    df = df[df["position"] > 0]
    ok_lap = ~(df["pit_in"] | df["pit_out"] | df["neutralised"] | df["lap_time"].isna())
    df = df.assign(ok=ok_lap.to_numpy())
    df = df.sort_values(["race_id", "lap", "position"])
    prev = df.groupby(["race_id", "lap"]).shift()
    pairs = df[(prev["position"] == df["position"] - 1)].copy()
    ahead = prev.loc[pairs.index]
    out = pd.DataFrame(
        {
            "race_id": pairs["race_id"].to_numpy(),
            "circuit": pairs["circuit"].to_numpy(),
            "season": pairs["season"].to_numpy(),
            "lap": pairs["lap"].to_numpy(),
            "laps_total": pairs["laps_total"].to_numpy(),
            "position": pairs["position"].to_numpy().astype(int),
            "ahead": ahead["driver"].to_numpy(),
            "behind": pairs["driver"].to_numpy(),
            "gap": (pairs["time"] - ahead["time"]).to_numpy(),
            "pace_ahead": ahead["pace"].to_numpy(dtype=float),
            "pace_behind": pairs["pace"].to_numpy(dtype=float),
            "tyre_age_ahead": ahead["tyre_life"].to_numpy(dtype=float),
            "tyre_age_behind": pairs["tyre_life"].to_numpy(dtype=float),
            "compound_ahead": ahead["compound"].to_numpy(),
            "compound_behind": pairs["compound"].to_numpy(),
        }
    )
    # Outcome: each car's position and whether the lap is a racing lap, ``horizon`` laps on.
    look = df.set_index(["race_id", "driver", "lap"])[["position", "ok"]]
    n = len(out)
    behind_ahead = np.zeros((n, horizon), bool)
    ok = np.zeros((n, horizon), bool)
    for j in range(1, horizon + 1):
        ka = pd.MultiIndex.from_arrays([out["race_id"], out["ahead"], out["lap"] + j])
        kb = pd.MultiIndex.from_arrays([out["race_id"], out["behind"], out["lap"] + j])
        a = look.reindex(ka)
        b = look.reindex(kb)
        behind_ahead[:, j - 1] = (b["position"].to_numpy() < a["position"].to_numpy()) & ~(
            np.isnan(a["position"].to_numpy()) | np.isnan(b["position"].to_numpy())
        )
        ok[:, j - 1] = a["ok"].eq(True).to_numpy() & b["ok"].eq(True).to_numpy()
    first_pass = np.where(behind_ahead.any(axis=1), behind_ahead.argmax(axis=1) + 1, 0)
    first_cut = _stop_lap(ok)
    out["pass_lap"] = np.where((first_pass > 0) & (first_pass < first_cut), first_pass, 0)
    out["cut_lap"] = np.where(first_cut <= horizon, first_cut, 0)
    return out


def outcome(pairs: pd.DataFrame, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """(usable, passed) for "passed within ``horizon`` laps": a pass before any censoring
    lap, or a full window of racing laps."""
    passed = (pairs["pass_lap"] > 0) & (pairs["pass_lap"] <= horizon)
    cut = (pairs["cut_lap"] > 0) & (pairs["cut_lap"] <= horizon)
    return (passed | ~cut).to_numpy(), passed.to_numpy()


def passing_rates(pairs: pd.DataFrame) -> tuple[dict[str, float], float]:
    """Per circuit: on-track passes per racing lap of pairs within ``CLOSE_GAP_S``, shrunk
    towards the overall rate; and the overall rate."""
    usable, passed = outcome(pairs, 1)
    close = usable & (pairs["gap"].to_numpy() < CLOSE_GAP_S)
    circuit = pairs["circuit"].map(canonical_circuit).to_numpy()[close]
    y = passed[close].astype(float)
    overall = float(y.mean()) if len(y) else 0.1
    frame = pd.DataFrame({"c": circuit, "y": y}).groupby("c")["y"].agg(["sum", "count"])
    rates = (frame["sum"] + RATE_PRIOR_LAPS * overall) / (frame["count"] + RATE_PRIOR_LAPS)
    return {str(k): float(v) for k, v in rates.items()}, overall
