"""Pit loss per circuit as a distribution, under green flag, safety car and VSC
(``PitLossModel``): a Student-t around each circuit's median green loss, SC/VSC as shares of
it, and the out-lap's share of a stop. How it is fitted: ``training.hazards.pit_loss``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from strategy.hazards.selection import Selection


def t_logpdf(x, loc, scale, df: float) -> np.ndarray:
    """Log-density of a Student-t with ``df`` degrees of freedom, location and scale."""
    z = (np.asarray(x, dtype=float) - loc) / scale
    const = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    return const - np.log(scale) - (df + 1) / 2 * np.log1p(z**2 / df)


@dataclass
class PitLossModel:
    """Median and spread of the time a stop costs, per circuit and track status."""

    green: dict[str, list[float]] = field(default_factory=dict)  # circuit -> [median, sd, n]
    overall: list[float] = field(default_factory=lambda: [22.0, 2.0])  # [median, sd]
    factor: dict[str, float] = field(default_factory=lambda: {"green": 1.0})
    factor_sd: dict[str, float] = field(default_factory=lambda: {"green": 0.0})
    df: float = 4.0
    seasons: list[int] = field(default_factory=list)
    stops: dict[str, int] = field(default_factory=dict)  # stops fitted on, per status
    selection: Selection = field(default_factory=Selection)
    #: circuit -> the out-lap's share of a green stop's loss; "_all": every circuit's median
    out_share: dict[str, float] = field(default_factory=dict)

    def remaining_after_in_lap(self, circuit: str) -> float:
        """Share of a stop's loss still to come once the car has crossed the line on its
        in-lap (0 when the artifact predates the fit)."""
        return float(self.out_share.get(circuit, self.out_share.get("_all", 0.0)))

    def distribution(self, circuit: str, status: str = "green") -> tuple[float, float]:
        """(median, sd) of the loss (s); a status without data falls back to green."""
        med, sd, _n = self.green.get(circuit, (self.overall[0], self.overall[1], 0))
        if status == "green" or status not in self.factor:
            return float(med), float(sd)
        return float(med * self.factor[status]), float(med * self.factor_sd[status])

    def logpdf(self, loss, circuits, statuses) -> np.ndarray:
        """Log-likelihood of each observed loss."""
        loc, scale = zip(
            *(self.distribution(c, s) for c, s in zip(circuits, statuses, strict=True)),
            strict=True,
        )
        return t_logpdf(loss, np.array(loc), np.maximum(np.array(scale), 0.1), self.df)

    def to_dict(self) -> dict:
        return {
            "green": self.green,
            "overall": self.overall,
            "factor": self.factor,
            "factor_sd": self.factor_sd,
            "df": self.df,
            "seasons": self.seasons,
            "stops": self.stops,
            "selection": self.selection.to_dict(),
            "out_share": self.out_share,
        }

    @classmethod
    def from_dict(cls, d: dict) -> PitLossModel:
        return cls(
            {k: list(v) for k, v in d["green"].items()},
            list(d["overall"]),
            dict(d["factor"]),
            dict(d["factor_sd"]),
            float(d["df"]),
            list(d.get("seasons", [])),
            dict(d.get("stops", {})),
            Selection.from_dict(d.get("selection", {})),
            {k: float(v) for k, v in d.get("out_share", {}).items()},
        )
