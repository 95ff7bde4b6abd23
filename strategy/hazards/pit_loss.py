"""Pit loss per circuit as a distribution, under green flag, safety car and VSC.

From the stops that ``training.hazards.stops.stop_losses`` measures in the lap data:

- green: per circuit, the median loss and a robust spread (1.4826 x the median absolute
  deviation), each shrunk towards the all-circuit value with a weight of ``prior`` stops (a
  circuit with few stops, or none, leans on the others);
- SC and VSC: the share of the circuit's green loss a stop under them costs, and its spread,
  over all circuits (there are too few such stops per circuit for more);
- the losses follow a Student-t around that median with that scale: most stops sit close to
  it, a few (a slow wheel nut, a queue in the pit lane) far above.

- the out-lap's share of a green stop's loss, per circuit (the median over every training
  season: where the line sits against the pit lane does not change with the rules), for a car
  that has crossed the line on its in-lap and still has that part of the stop to lose.

Only the last ``seasons`` seasons of the training data count for the loss (pit lanes and their speed
limits change). ``seasons``, ``prior`` and the t's degrees of freedom are chosen on the
training seasons by forward chaining (each of the last training seasons predicted from the
ones before it), scored by the log-likelihood of its stops.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from strategy.hazards.selection import Selection, choose

STATUSES = ("green", "sc", "vsc")
GRID = {"seasons": (1, 2, 3, 6), "prior": (3.0, 10.0, 30.0), "df": (2.0, 4.0, 10.0)}
FORWARD_FOLDS = 3  # the last training seasons each predicted from the ones before
OUT_SHARE_MIN_STOPS = 5  # green stops a circuit needs for its own out-lap share


def robust_sd(values) -> float:
    """Standard deviation from the median absolute deviation (outliers count little)."""
    v = np.asarray(values, dtype=float)
    return float(1.4826 * np.median(np.abs(v - np.median(v)))) if len(v) else float("nan")


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


def fit_pit_loss(stops: pd.DataFrame, seasons: int, prior: float, df: float) -> PitLossModel:
    """Fit on ``stop_losses`` rows, keeping the last ``seasons`` seasons among them."""
    last = sorted(stops["season"].unique())[-seasons:]
    s = stops[stops["season"].isin(last)]
    green = s[s["status"] == "green"]
    if green.empty:
        raise ValueError("no green-flag stops to fit the pit loss on")
    med_all = float(green["loss"].median())
    by = green.groupby("circuit")["loss"]
    medians = by.median()
    resid = green["loss"] - green["circuit"].map(medians)
    sd_all = robust_sd(resid)
    table: dict[str, list[float]] = {}
    for circuit, losses in by:
        n = len(losses)
        med = (n * float(medians[circuit]) + prior * med_all) / (n + prior)
        sd_c = robust_sd(losses) if n >= 3 else sd_all
        sd = math.sqrt((n * sd_c**2 + prior * sd_all**2) / (n + prior))
        table[str(circuit)] = [med, max(sd, 0.3), float(n)]
    model = PitLossModel(table, [med_all, sd_all], {"green": 1.0}, {"green": 0.0}, float(df))
    for status in STATUSES[1:]:
        part = s[s["status"] == status]
        if len(part) < 5:
            continue
        ratio = part["loss"].to_numpy() / np.array(
            [model.distribution(c)[0] for c in part["circuit"]]
        )
        model.factor[status] = float(np.median(ratio))
        model.factor_sd[status] = robust_sd(ratio)
    model.seasons = [int(x) for x in last]
    model.stops = {k: int(v) for k, v in s["status"].value_counts().items()}
    return model


def _forward_score(stops: pd.DataFrame, params: dict, _features: list[str]) -> float:
    seasons = sorted(stops["season"].unique())
    total, count = 0.0, 0
    for season in seasons[-FORWARD_FOLDS:]:
        before, held = stops[stops["season"] < season], stops[stops["season"] == season]
        if before.empty or held.empty:
            continue
        m = fit_pit_loss(before, params["seasons"], params["prior"], params["df"])
        total -= float(m.logpdf(held["loss"], held["circuit"], held["status"]).sum())
        count += len(held)
    return total / max(count, 1)


def fit_pit_losses(stops: pd.DataFrame, grid: dict | None = None) -> PitLossModel:
    """Choose (forward chaining on the training seasons) and fit the pit-loss model."""
    seasons: Sequence[int] = sorted(int(s) for s in stops["season"].unique())
    sel = choose(
        grid or GRID,
        [],
        [],
        lambda p, f: _forward_score(stops, p, f),
        list(seasons[-FORWARD_FOLDS:]),
        metric="neg_log_likelihood",
    )
    p = sel.params
    model = fit_pit_loss(stops, int(p["seasons"]), p["prior"], p["df"])
    model.selection = sel
    model.out_share = fit_out_shares(stops)
    return model


def fit_out_shares(stops: pd.DataFrame, min_stops: int = OUT_SHARE_MIN_STOPS) -> dict[str, float]:
    """Median out-lap share of the green stops, per circuit with ``min_stops`` or more, and
    over all circuits (``"_all"``)."""
    green = stops[(stops["status"] == "green") & np.isfinite(stops["out_share"])]
    if green.empty:
        return {}
    by = green.groupby("circuit")["out_share"]
    out = {str(c): float(v.median()) for c, v in by if len(v) >= min_stops}
    out["_all"] = float(green["out_share"].median())
    return out
