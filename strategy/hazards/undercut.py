"""Undercut and overcut success as calibrated chances (``SuccessModel``): a logistic
model over the gap, tyre ages, compounds, pace and the circuit's pit loss and passing rate,
then its calibrator. How attempts are found and the model chosen: ``training.hazards.undercut``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from strategy.compounds import DRY
from strategy.hazards.logistic import Calibrator, Logistic
from strategy.hazards.selection import Selection

HARDNESS = {c: i for i, c in enumerate(DRY)}


@dataclass
class SuccessModel:
    """P(success) of one kind of attempt: a logistic model and its calibrator."""

    kind: str
    features: list[str]
    model: Logistic
    calibrator: Calibrator = field(default_factory=Calibrator)
    attempts: int = 0
    successes: int = 0
    selection: Selection = field(default_factory=Selection)

    def predict(self, x: pd.DataFrame) -> np.ndarray:
        return self.calibrator(self.model.prob(x[self.features].to_numpy(float)))

    def prob(self, *values: float) -> float:
        """The calibrated chance for one attempt, ``values`` in ``features`` order."""
        return self.calibrator.one(self.model.prob_one(*values))

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "features": self.features,
            "model": self.model.to_dict(),
            "calibrator": self.calibrator.to_dict(),
            "attempts": self.attempts,
            "successes": self.successes,
            "selection": self.selection.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> SuccessModel:
        return cls(
            d["kind"],
            list(d["features"]),
            Logistic.from_dict(d["model"]),
            Calibrator.from_dict(d["calibrator"]),
            int(d.get("attempts", 0)),
            int(d.get("successes", 0)),
            Selection.from_dict(d.get("selection", {})),
        )
