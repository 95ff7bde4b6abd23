"""The fitted chance that a safety car or a virtual safety car starts on a lap (``LapHazard``).

One logistic model per event on lap 1, the circuit's shrunk rate, the share of the field on
intermediates or wets, recent yellow flags and a recent restart; the per-lap path
(``LapHazard.prob``) is pure Python over the stored numbers. How the rows are built and the
model chosen: ``training.hazards.neutralisations``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from strategy.hazards.logistic import Logistic
from strategy.hazards.rates import ShrunkRates
from strategy.hazards.selection import Selection

MAX_WINDOW = 5  # laps of yellow-flag history each row carries


def recent_yellows(frame: pd.DataFrame, window: int) -> np.ndarray:
    """Per ``race_laps`` row (any subset of them): leader laps among the ``window`` before it
    that saw a yellow flag."""
    if not 1 <= window <= MAX_WINDOW:
        raise ValueError(f"yellow-flag window {window}: 1 to {MAX_WINDOW} laps")
    return frame[[f"yellow_{k}" for k in range(1, window + 1)]].sum(axis=1).to_numpy(float)


def _matrix(frame: pd.DataFrame, features: Sequence[str], circuit: np.ndarray, window: int):
    cols = {
        "lap1": frame["lap1"].to_numpy(float),
        "circuit": circuit,
        "wet": frame["wet"].to_numpy(float),
        "yellows": recent_yellows(frame, window),
        "restart": frame["restart"].to_numpy(float),
    }
    return np.column_stack([cols[f] for f in features])


@dataclass
class LapHazard:
    """P(event starts on a lap | it is not running) for one event ("sc" or "vsc")."""

    event: str
    features: list[str]
    window: int
    rates: ShrunkRates
    model: Logistic
    selection: Selection = field(default_factory=Selection)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Forecasts for ``race_laps`` rows (circuit rates from the training races)."""
        circuit = self.rates.log_ratios(frame["circuit"].to_numpy())
        return self.model.prob(_matrix(frame, self.features, circuit, self.window))

    @cached_property
    def _circuits(self) -> dict[str, float]:
        return {}

    def prob(
        self, circuit: str, lap: int, wet_share: float, recent_yellows: float, restart: bool
    ) -> float:
        c = self._circuits.get(circuit)
        if c is None:
            c = self._circuits[circuit] = self.rates.log_ratio(circuit)
        values = {
            "lap1": 1.0 if lap <= 1 else 0.0,
            "circuit": c,
            "wet": wet_share,
            "yellows": recent_yellows,
            "restart": 1.0 if restart else 0.0,
        }
        return self.model.prob_one(*[values[f] for f in self.features])

    def to_dict(self) -> dict:
        return {
            "event": self.event,
            "features": self.features,
            "window": self.window,
            "rates": self.rates.to_dict(),
            "model": self.model.to_dict(),
            "selection": self.selection.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> LapHazard:
        return cls(
            d["event"],
            list(d["features"]),
            int(d["window"]),
            ShrunkRates.from_dict(d["rates"]),
            Logistic.from_dict(d["model"]),
            Selection.from_dict(d.get("selection", {})),
        )
