"""Fitting the tyre-life priors (``strategy.tyre_life``) from the stints of past races.

For every dry race, each set a car ran is a stint with a length (its tyre age when taken off,
or at the flag). A season's life of a compound at a circuit is the ``QUANTILE`` of the lengths
of its sets there that were taken off under green or ran to the flag (a set stopped under a
safety car says nothing of the tyre). The prior for a new season weights the circuit's
seasons by recency (each season ``RECENCY`` times the next), and less, with a wider spread,
across a change of rules (new cars or tyres: ``RULE_CHANGES``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from strategy.circuits import canonical_circuit
from strategy.compounds import DRY
from strategy.tyre_life import Life, TyreLife

#: Seasons that brought new cars or new tyres: what came before says less of the tyres.
RULE_CHANGES = (2014, 2017, 2022, 2026)
RECENCY = 0.5  # weight of a season against the one after it
ACROSS_RULES = 0.3  # weight factor of a season from before a change of rules
WIDEN = 1.5  # sd factor of a prior read across a change of rules
QUANTILE = 0.75  # a season's life: this quantile of its sets' lengths at the circuit
BASE_SD = 3.0  # laps: the spread of a season's life with one season of history
MIN_SETS = 4  # sets a season needs at a circuit for a life of its own


def set_lengths(laps: pd.DataFrame) -> pd.DataFrame:
    """One row per set run in a dry race: season, circuit, compound, length (tyre age when
    taken off or at the flag), ``evidence`` (taken off under green, or run to the flag)."""
    dry = laps.groupby("race_id")["compound"].transform(lambda c: c.isin(DRY).mean() > 0.9)
    laps = laps[dry & ~laps["sprint"]].sort_values(["race_id", "driver", "lap"])
    key = ["race_id", "driver", "stint"]
    last = laps.groupby(key).tail(1)
    age = last["tyre_life"].fillna(laps.groupby(key)["lap"].transform("size").loc[last.index])
    final = last["lap"] >= last["laps_total"] - 1
    green_stop = last["pit_in"] & ~last["neutralised"]
    return pd.DataFrame(
        {
            "season": last["season"].to_numpy(),
            "circuit": last["circuit"].map(canonical_circuit).to_numpy(),
            "compound": last["compound"].to_numpy(),
            "length": age.to_numpy(float),
            "evidence": (green_stop | final).to_numpy(),
        }
    )[lambda f: f["compound"].isin(DRY)]


def season_weight(s: int, season: int) -> float:
    """The weight of season ``s``'s evidence for ``season``: recency, and a change of rules."""
    w = RECENCY ** (season - 1 - s)
    if any(s < r <= season for r in RULE_CHANGES):
        w *= ACROSS_RULES
    return w


def _prior(per_season: pd.Series, season: int) -> Life | None:
    """A life prior from one circuit's (or all circuits') season lives before ``season``."""
    if per_season.empty:
        return None
    w = np.array([season_weight(int(s), season) for s in per_season.index])
    v = per_season.to_numpy(float)
    mean = float(np.sum(w * v) / np.sum(w))
    spread = float(np.sum(w * (v - mean) ** 2) / np.sum(w)) if len(v) > 1 else 0.0
    sd = math.sqrt(spread + BASE_SD**2)
    latest = int(per_season.index.max())
    if any(latest < r <= season for r in RULE_CHANGES):
        sd *= WIDEN
    return Life(mean, sd)


def fit_tyre_life(laps: pd.DataFrame, season: int) -> TyreLife:
    """The life priors for ``season`` from the races of the seasons before it in ``laps``."""
    sets = set_lengths(laps[laps["season"] < season])
    sets = sets[sets["evidence"]]
    life = TyreLife(season=season)
    by = sets.groupby(["circuit", "compound", "season"])["length"]
    lives = by.quantile(QUANTILE)[by.size() >= MIN_SETS]
    for (circuit, compound), g in lives.groupby(level=[0, 1]):
        prior = _prior(g.droplevel([0, 1]), season)
        if prior is not None:
            life.circuits.setdefault(str(circuit), {})[str(compound)] = prior
    overall = sets.groupby(["compound", "season"])["length"].quantile(QUANTILE)
    for compound, g in overall.groupby(level=0):
        prior = _prior(g.droplevel(0), season)
        if prior is not None:
            life.overall[str(compound)] = prior
    return life
