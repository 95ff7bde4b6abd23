"""Tyre degradation per stint and per compound, with the race model's online estimate
(``strategy.degradation.OnlineDegradation``: a Bayesian slope starting at the compound's
prior) fitted to each stint's clean, fuel-corrected laps."""

from __future__ import annotations

import pandas as pd

from analytics.laps import clean_laps, fuel_corrected_times
from analytics.numbers import num
from strategy.degradation import OnlineDegradation

MIN_STINT_LAPS = 5


def stint_degradation(
    laps: pd.DataFrame, prior_slopes: dict[str, float] | None = None
) -> list[dict]:
    """Per driver and stint: compound, laps, tyre ages, slope (s per lap of age) with its
    standard deviation, and the points and fitted line of a degradation chart."""
    clean = clean_laps(laps)
    out = []
    for (driver, stint), g in laps.groupby(["driver", "stint"], sort=True):
        c = clean[(clean["driver"] == driver) & (clean["stint"] == stint)]
        compound = str(g["compound"].mode().iloc[0]) if len(g) else None
        prior = (prior_slopes or {}).get(compound or "")
        deg = OnlineDegradation(compound or "MEDIUM", prior_slope=prior)
        for age, fc in zip(c["tyre_life"].fillna(0), c["fc"], strict=True):
            deg.update(float(age), float(fc))
        ages = c["tyre_life"].fillna(0).to_numpy(float)
        fitted = deg.predict(ages.tolist()) if deg.n else []
        out.append(
            {
                "driver": driver,
                "team": g["team"].iloc[0] if "team" in g else None,
                "stint": int(stint),
                "compound": compound,
                "first_lap": int(g["lap"].min()),
                "last_lap": int(g["lap"].max()),
                "laps": len(g),
                "clean_laps": len(c),
                "tyre_age_start": num(g["tyre_life"].min(), None),
                "tyre_age_end": num(g["tyre_life"].max(), None),
                "slope": deg.slope if deg.n >= MIN_STINT_LAPS else None,
                "slope_std": deg.slope_std if deg.n >= MIN_STINT_LAPS else None,
                "median_fc": num(c["fc"].median(), None) if len(c) else None,
                "tyre_age": ages.tolist(),
                "fuel_corrected": c["fc"].round(3).tolist(),
                "fitted": [round(v, 3) for v in fitted],
            }
        )
    return out


def compound_degradation(stints: list[dict]) -> list[dict]:
    """Per compound: stints with a slope, median and spread of their slopes."""
    frame = pd.DataFrame([s for s in stints if s["slope"] is not None])
    if frame.empty:
        return []
    out = []
    for comp, g in frame.groupby("compound"):
        out.append(
            {
                "compound": comp,
                "stints": len(g),
                "median_slope": float(g["slope"].median()),
                "min_slope": float(g["slope"].min()),
                "max_slope": float(g["slope"].max()),
            }
        )
    return out


def lap_series(laps: pd.DataFrame, race: bool = True) -> pd.DataFrame:
    """Every lap with its (race: fuel-corrected) time and whether it is clean."""
    clean_idx = clean_laps(laps, race).index
    fc = fuel_corrected_times(laps) if race else laps["lap_time"]
    return laps.assign(fc=fc, clean=laps.index.isin(clean_idx))
