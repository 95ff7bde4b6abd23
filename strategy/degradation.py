"""Tyre degradation: per-compound priors from history and an online per-stint estimate.

The online estimate is a Bayesian linear regression of fuel-corrected lap time on tyre age
(known noise, normal prior on the slope), so the live slope starts at the compound's
historical value and moves towards what the car is actually doing as clean laps arrive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from strategy.data import canonical_circuit
from strategy.fuel import FUEL_S_PER_LAP

#: Seconds lost per lap of tyre age, and pace offset against MEDIUM, when nothing better is known.
DEFAULT_SLOPE = {"SOFT": 0.085, "MEDIUM": 0.055, "HARD": 0.035, "INTERMEDIATE": 0.06, "WET": 0.05}
DEFAULT_OFFSET = {"SOFT": -0.45, "MEDIUM": 0.0, "HARD": 0.35, "INTERMEDIATE": 4.0, "WET": 7.0}
LAP_NOISE_SD = 0.45  # s, a clean green lap around its expectation


@dataclass
class CompoundPrior:
    slope: float
    slope_sd: float
    offset: float


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


class OnlineDegradation:
    """Bayesian linear degradation of one stint: lap time = intercept + slope * tyre age."""

    def __init__(
        self,
        compound: str,
        prior_slope: float | None = None,
        prior_std: float | None = None,
        noise_sd: float = LAP_NOISE_SD,
    ) -> None:
        self.compound = compound
        slope = DEFAULT_SLOPE.get(compound, 0.05) if prior_slope is None else prior_slope
        sd = 0.03 if prior_std is None else prior_std
        # Parameters (intercept, slope); the intercept prior is vague.
        self._prec = np.diag([1e-6, 1.0 / sd**2])
        self._b = self._prec @ np.array([0.0, slope])
        self._noise_var = noise_sd**2
        self.n = 0

    def update(self, tyre_age: float, lap_time: float) -> None:
        """Add one clean, fuel-corrected lap."""
        x = np.array([1.0, float(tyre_age)])
        self._prec = self._prec + np.outer(x, x) / self._noise_var
        self._b = self._b + x * float(lap_time) / self._noise_var
        self.n += 1

    @property
    def _mean(self) -> np.ndarray:
        return np.linalg.solve(self._prec, self._b)

    @property
    def slope(self) -> float:
        return float(self._mean[1])

    @property
    def slope_std(self) -> float:
        return float(np.sqrt(np.linalg.inv(self._prec)[1, 1]))

    @property
    def intercept(self) -> float | None:
        return float(self._mean[0]) if self.n else None

    def predict(self, tyre_ages: Sequence[float]) -> list[float]:
        """Expected fuel-corrected lap times at these tyre ages (empty before the first lap)."""
        if not self.n:
            return []
        a, b = self._mean
        return [float(a + b * t) for t in tyre_ages]
