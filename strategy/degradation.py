"""Tyre degradation: per-compound priors from history and an online per-stint estimate.

The online estimate is a Bayesian linear regression of fuel-corrected lap time on tyre age
(known noise, normal prior on the slope), so the live slope starts at the compound's
historical value and moves towards what the car is actually doing as clean laps arrive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Seconds lost per lap of tyre age, and pace offset against MEDIUM, when nothing better is known.
DEFAULT_SLOPE = {"SOFT": 0.085, "MEDIUM": 0.055, "HARD": 0.035, "INTERMEDIATE": 0.06, "WET": 0.05}
DEFAULT_OFFSET = {"SOFT": -0.45, "MEDIUM": 0.0, "HARD": 0.35, "INTERMEDIATE": 4.0, "WET": 7.0}
LAP_NOISE_SD = 0.45  # s, a clean green lap around its expectation


@dataclass
class CompoundPrior:
    slope: float
    slope_sd: float
    offset: float


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
