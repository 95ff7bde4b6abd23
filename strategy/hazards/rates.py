"""Per-circuit (or per-team) rates shrunk towards the overall rate, as model features
(``ShrunkRates``): (events + w * overall) / (trials + w), read as log(rate / overall).
Summing them from history: ``training.hazards.rates``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd


@dataclass
class ShrunkRates:
    """Events and trials per key (a circuit, a team), the overall rate and the prior weight
    (in trials)."""

    events: dict[str, float] = field(default_factory=dict)
    trials: dict[str, float] = field(default_factory=dict)
    overall: float = 0.0
    prior: float = 100.0

    def rate(self, key: str) -> float:
        """The key's shrunk rate (the overall rate for a key without history)."""
        e, n = self.events.get(key, 0.0), self.trials.get(key, 0.0)
        return (e + self.prior * self.overall) / (n + self.prior)

    def log_ratio(self, key: str) -> float:
        return math.log(max(self.rate(key), 1e-12) / max(self.overall, 1e-12))

    def log_ratios(self, keys: np.ndarray | pd.Series) -> np.ndarray:
        table = {c: self.log_ratio(c) for c in pd.unique(np.asarray(keys))}
        return np.array([table[c] for c in np.asarray(keys)], dtype=float)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ShrunkRates:
        return cls(**d)
