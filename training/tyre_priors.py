"""Compound priors from history: each compound's pace offset and wear slope per lap of tyre
age, and how much harder or softer each circuit wears them (``strategy.degradation``'s
``CompoundPrior``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from strategy.circuits import canonical_circuit
from strategy.degradation import DEFAULT_OFFSET, DEFAULT_SLOPE, CompoundPrior
from strategy.fuel import FUEL_S_PER_LAP


def compound_priors(laps: pd.DataFrame) -> dict[str, CompoundPrior]:
    """Slope and pace offset per compound from clean green laps (within-stint regression)."""
    clean = laps[
        laps["green"]
        & laps["accurate"]
        & ~laps["pit_in"]
        & ~laps["pit_out"]
        & laps["lap_time"].notna()
        & laps["tyre_life"].notna()
        & (laps["lap"] > 1)
    ].copy()
    clean["fc"] = clean["lap_time"] - FUEL_S_PER_LAP * (clean["laps_total"] - clean["lap"])
    med = clean.groupby("race_id")["fc"].transform("median")
    clean = clean[(clean["fc"] - med).abs() < 5]
    out: dict[str, CompoundPrior] = {}
    key = ["race_id", "driver", "stint"]
    clean["y"] = clean["fc"] - clean.groupby(key)["fc"].transform("mean")
    clean["x"] = clean["tyre_life"] - clean.groupby(key)["tyre_life"].transform("mean")
    # Offset: a driver's stint mean against his race mean, at equal age, by compound.
    clean["dm"] = clean["fc"] - clean.groupby(["race_id", "driver"])["fc"].transform("mean")
    clean["xy"] = clean["x"] * clean["y"]
    clean["xx"] = clean["x"] ** 2
    stints = clean.groupby(["compound", *key])[["xy", "xx"]].agg(["sum", "count"])
    stints = stints[stints[("xy", "count")] >= 6]
    stint_slopes = (stints[("xy", "sum")] / stints[("xx", "sum")].clip(lower=1e-9)).clip(-0.3, 0.5)
    for comp, g in clean.groupby("compound"):
        if comp not in DEFAULT_SLOPE or len(g) < 200:
            continue
        per_stint = stint_slopes.xs(comp, level="compound").dropna()
        if len(per_stint) < 20:
            continue
        out[str(comp)] = CompoundPrior(
            float(per_stint.median()), float(per_stint.std() / 2), float(g["dm"].mean())
        )
    # Per circuit: how much faster or slower tyres wear there than on average.
    clean["circuit"] = clean["circuit"].map(canonical_circuit)
    sums = clean.groupby(["circuit", *key])[["xy", "xx"]].sum()
    sums = sums[sums["xx"] > 20]
    stint_slope = (sums["xy"] / sums["xx"]).clip(-0.3, 0.5)
    global_slope = float(stint_slope.median())
    per_circuit = stint_slope.groupby(level="circuit").median()
    out["_circuits"] = (
        {  # type: ignore[assignment]
            c: float(np.clip(v / global_slope, 0.3, 2.5)) for c, v in per_circuit.items()
        }
        if global_slope > 0
        else {}
    )
    base = out.get("MEDIUM").offset if "MEDIUM" in out else 0.0
    for comp in DEFAULT_SLOPE:
        if comp in out and isinstance(out[comp], CompoundPrior):
            out[comp].offset -= base
        else:
            out[comp] = CompoundPrior(DEFAULT_SLOPE[comp], 0.03, DEFAULT_OFFSET[comp])
    return out
