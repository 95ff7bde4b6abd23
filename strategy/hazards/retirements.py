"""The fitted chance that a running car retires on a lap (``RetirementModel``).

A logistic model on lap 1, the circuit's shrunk retirement rate and the team's (and the
field's) mechanical failures per lap, this season so far and last season, as known at the
model's date. How it is fitted: ``training.hazards.retirements``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from strategy.hazards.logistic import Logistic
from strategy.hazards.rates import ShrunkRates
from strategy.hazards.selection import Selection


@dataclass
class RetirementModel:
    """P(a running car retires on this lap | team, circuit, lap)."""

    features: list[str]
    circuit_rates: ShrunkRates
    mech_rate: float  # training mechanical failures per lap (the team features' anchor)
    team_prior: float
    model: Logistic
    #: As of the model's date: the team's (failures, laps) this season so far and last season.
    team_season: dict[str, list[float]] = field(default_factory=dict)
    team_prev: dict[str, list[float]] = field(default_factory=dict)
    field_season: list[float] = field(default_factory=lambda: [0.0, 0.0])
    #: Other names of a team (FastF1's "Red Bull Racing", Ergast's "Red Bull") -> Ergast ref.
    aliases: dict[str, str] = field(default_factory=dict)
    selection: Selection = field(default_factory=Selection)

    def team_key(self, team: str | None) -> str:
        if not team:
            return ""
        return self.aliases.get(team, self.aliases.get(team.lower(), team.lower()))

    def _shrunk(self, e: float, n: float) -> float:
        return math.log(
            (e + self.team_prior * self.mech_rate) / (n + self.team_prior) / self.mech_rate
        )

    def feature_values(self, team: str | None, circuit: str, lap: int) -> list[float]:
        key = self.team_key(team)
        values = {
            "lap1": 1.0 if lap <= 1 else 0.0,
            "circuit": self.circuit_rates.log_ratio(circuit),
            "team_season": self._shrunk(*self.team_season.get(key, (0.0, 0.0))),
            "team_prev": self._shrunk(*self.team_prev.get(key, (0.0, 0.0))),
            "field_season": self._shrunk(*self.field_season),
        }
        return [values[f] for f in self.features]

    @cached_property
    def _cache(self) -> dict[tuple[str | None, str, bool], list[float]]:
        """Feature values per (team, circuit, lap 1): the tables are read once per key."""
        return {}

    def prob(self, team: str | None, circuit: str, lap: int) -> float:
        key = (team, circuit, lap <= 1)
        values = self._cache.get(key)
        if values is None:
            values = self._cache[key] = self.feature_values(team, circuit, lap)
        return self.model.prob_one(*values)

    def predict(self, rows: pd.DataFrame) -> np.ndarray:
        """Per-lap forecasts for ``binomial_rows`` of ``team_history`` rows."""
        circuit = self.circuit_rates.log_ratios(rows["circuit"].to_numpy())
        x = _matrix(rows, self.features, circuit, self.mech_rate, self.team_prior)
        return self.model.prob(x)

    def to_dict(self) -> dict:
        return {
            "features": self.features,
            "circuit_rates": self.circuit_rates.to_dict(),
            "mech_rate": self.mech_rate,
            "team_prior": self.team_prior,
            "model": self.model.to_dict(),
            "team_season": self.team_season,
            "team_prev": self.team_prev,
            "field_season": self.field_season,
            "aliases": self.aliases,
            "selection": self.selection.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> RetirementModel:
        return cls(
            list(d["features"]),
            ShrunkRates.from_dict(d["circuit_rates"]),
            float(d["mech_rate"]),
            float(d["team_prior"]),
            Logistic.from_dict(d["model"]),
            {k: list(v) for k, v in d.get("team_season", {}).items()},
            {k: list(v) for k, v in d.get("team_prev", {}).items()},
            list(d.get("field_season", [0.0, 0.0])),
            dict(d.get("aliases", {})),
            Selection.from_dict(d.get("selection", {})),
        )


def _matrix(rows, features, circuit, mech_rate: float, team_prior: float) -> np.ndarray:
    cols = {
        "lap1": rows["lap1"].to_numpy(float),
        "circuit": circuit,
        "team_season": _log_shrunk(rows["team_e"], rows["team_n"], mech_rate, team_prior),
        "team_prev": _log_shrunk(rows["prev_e"], rows["prev_n"], mech_rate, team_prior),
        "field_season": _log_shrunk(rows["field_e"], rows["field_n"], mech_rate, team_prior),
    }
    return np.column_stack([cols[f] for f in features])


def _log_shrunk(e, n, overall: float, prior: float):
    return np.log((np.asarray(e) + prior * overall) / (np.asarray(n) + prior) / overall)
