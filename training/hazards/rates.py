"""Per-circuit (or per-team) rates shrunk towards the overall rate, as model features.

A circuit with few races says little on its own: its rate is (events + w * overall) /
(trials + w), ``w`` trials of the overall rate (empirical Bayes with a beta prior). The feature
a model takes is log(circuit rate / overall rate). On training rows the circuit's rate leaves
out the row's own race (``loo_log_ratio``), so that the model does not learn from a feature
that already knows the outcome.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from strategy.hazards.rates import ShrunkRates


def sum_rates(key: pd.Series, events: pd.Series, trials: pd.Series, prior: float) -> ShrunkRates:
    """Sum ``events`` and ``trials`` per key (rows are any grouping finer than the key)."""
    frame = pd.DataFrame({"c": key.to_numpy(), "e": events.to_numpy(), "n": trials.to_numpy()})
    sums = frame.groupby("c")[["e", "n"]].sum()
    total_n = float(sums["n"].sum())
    overall = float(sums["e"].sum()) / total_n if total_n > 0 else 0.0
    return ShrunkRates(
        events={str(k): float(v) for k, v in sums["e"].items()},
        trials={str(k): float(v) for k, v in sums["n"].items()},
        overall=overall,
        prior=float(prior),
    )


def loo_log_ratio(
    circuit: pd.Series, race: pd.Series, events: pd.Series, trials: pd.Series, prior: float
) -> np.ndarray:
    """Per row: log(shrunk rate of the row's circuit without the row's race / overall rate)."""
    frame = pd.DataFrame(
        {
            "c": circuit.to_numpy(),
            "r": race.to_numpy(),
            "e": events.to_numpy(float),
            "n": trials.to_numpy(float),
        }
    )
    per_race = frame.groupby(["c", "r"])[["e", "n"]].transform("sum")
    per_circuit = frame.groupby("c")[["e", "n"]].transform("sum")
    overall = frame["e"].sum() / frame["n"].sum()
    e = per_circuit["e"] - per_race["e"]
    n = per_circuit["n"] - per_race["n"]
    rate = (e + prior * overall) / (n + prior)
    return np.log(np.maximum(rate.to_numpy(float), 1e-12) / max(overall, 1e-12))
