"""How evenly a driver lapped: the spread of his clean, fuel-corrected laps, the same after
taking out each stint's tyre trend, and the share of laps within 0.5 s of his median once
that trend is out (fuel and tyres change every lap time; a steady driver follows them)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.laps import clean_laps

WITHIN_S = 0.5


def _detrended(g: pd.DataFrame) -> pd.Series:
    """Residuals of a straight line of lap time on tyre age, per stint."""
    out = []
    for _, s in g.groupby("stint"):
        x = s["tyre_life"].fillna(0).to_numpy(float)
        y = s["fc"].to_numpy(float)
        if len(s) >= 3 and np.ptp(x) > 0:
            b, a = np.polyfit(x, y, 1)
            out.append(pd.Series(y - (a + b * x), index=s.index))
        else:
            out.append(s["fc"] - s["fc"].mean())
    return pd.concat(out) if out else pd.Series(dtype=float)


def consistency(laps: pd.DataFrame, race: bool = True) -> pd.DataFrame:
    """Per driver: clean laps, standard deviation and IQR of their (fuel-corrected) times,
    the deviation left after each stint's tyre trend, and the share of laps within 0.5 s of
    the median after that trend; most consistent (smallest detrended deviation) first."""
    clean = clean_laps(laps, race)
    rows = []
    for driver, g in clean.groupby("driver"):
        if len(g) < 3:
            continue
        med = g["fc"].median()
        resid = _detrended(g)
        rows.append(
            {
                "driver": driver,
                "team": g["team"].iloc[0] if "team" in g else None,
                "laps": len(g),
                "median": float(med),
                "std": float(g["fc"].std()),
                "iqr": float(g["fc"].quantile(0.75) - g["fc"].quantile(0.25)),
                "detrended_std": float(resid.std()),
                "within_0_5": float(((resid - resid.median()).abs() <= WITHIN_S).mean()),
            }
        )
    out = pd.DataFrame(
        rows,
        columns=["driver", "team", "laps", "median", "std", "iqr", "detrended_std", "within_0_5"],
    )
    return out.sort_values("detrended_std").reset_index(drop=True)
