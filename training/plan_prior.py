"""Fitting the plan prior (``strategy.plan_prior``): the compound sequences finishers ran at
each circuit, each season weighted like the tyre lives (``training.tyre_life``: the most recent
most, less across a change of rules)."""

from __future__ import annotations

import pandas as pd

from strategy.plan_prior import PlanPrior
from training.habits import finished_dry_sequences
from training.tyre_life import season_weight


def fit_plan_prior(laps: pd.DataFrame, season: int) -> PlanPrior:
    """The prior for ``season`` from the races of the seasons before it in ``laps``."""
    past = laps[(laps["season"] < season) & ~laps["sprint"]]
    seqs = finished_dry_sequences(past)
    prior = PlanPrior()
    for r in seqs.itertuples(index=False):
        w = season_weight(int(r.season), season)
        key = "-".join(r.sequence)
        per_circuit = prior.circuits.setdefault(r.circuit, {})
        per_circuit[key] = per_circuit.get(key, 0.0) + w
        prior.overall[key] = prior.overall.get(key, 0.0) + w
    return prior
