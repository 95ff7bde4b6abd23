"""How hard passing is at a circuit: on-track passes per lap between close cars.

For every lap L of a race, the cars in the order they completed lap L-1 form adjacent pairs;
a pair within ``CLOSE_GAP_S`` at the line is a chance to pass, and it is taken when the car
behind completes lap L first. Laps with a stop (in- or out-lap) of either car and laps under
SC, VSC or red flag (either lap) say nothing of racing and are left out, as is lap 1. The
circuit's rate is shrunk towards the all-circuit rate (``rates.ShrunkRates``).
"""

from __future__ import annotations

import pandas as pd

from strategy.circuits import canonical_circuit
from strategy.hazards.rates import ShrunkRates
from training.hazards.rates import sum_rates

CLOSE_GAP_S = 1.5
PRIOR_PAIRS = 200.0  # weight of the all-circuit rate, in close pair-laps


def close_pairs(laps: pd.DataFrame) -> pd.DataFrame:
    """Adjacent pairs within ``CLOSE_GAP_S`` at the end of lap L-1 that raced through lap L:
    race_id, season, circuit (canonical), lap (L), gap, passed."""
    df = laps[["race_id", "season", "circuit", "driver", "lap", "time"]].copy()
    df["ok"] = ~(laps["pit_in"] | laps["pit_out"] | laps["neutralised"]) & laps["time"].notna()
    df = df.dropna(subset=["time"]).sort_values(["race_id", "lap", "time"])
    ahead = df.groupby(["race_id", "lap"], sort=False)[["driver", "time", "ok"]].shift(1)
    pairs = df.assign(
        ahead=ahead["driver"], gap=df["time"] - ahead["time"], ahead_ok=ahead["ok"]
    ).dropna(subset=["ahead"])
    pairs = pairs[(pairs["gap"] < CLOSE_GAP_S) & pairs["ok"] & pairs["ahead_ok"].astype(bool)]
    nxt = df.set_index(["race_id", "driver", "lap"])[["time", "ok"]]
    at = pairs["lap"] + 1
    b = nxt.reindex(pd.MultiIndex.from_arrays([pairs["race_id"], pairs["driver"], at]))
    a = nxt.reindex(pd.MultiIndex.from_arrays([pairs["race_id"], pairs["ahead"], at]))
    raced = (b["ok"].eq(True).to_numpy()) & (a["ok"].eq(True).to_numpy())
    out = pd.DataFrame(
        {
            "race_id": pairs["race_id"].to_numpy(),
            "season": pairs["season"].to_numpy(),
            "circuit": pairs["circuit"].map(canonical_circuit).to_numpy(),
            "lap": at.to_numpy(),
            "gap": pairs["gap"].to_numpy(),
            "passed": (b["time"].to_numpy() < a["time"].to_numpy()).astype(float),
        }
    )[raced]
    return out[out["lap"] >= 2].reset_index(drop=True)


def passing_rates(laps: pd.DataFrame, prior: float = PRIOR_PAIRS) -> ShrunkRates:
    """Per circuit: share of close pair-laps with an on-track pass, shrunk."""
    pairs = close_pairs(laps)
    ones = pd.Series(1.0, index=pairs.index)
    return sum_rates(pairs["circuit"], pairs["passed"], ones, prior)
