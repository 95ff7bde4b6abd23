"""Track evolution through a session: how much faster the track got as rubber went down.

Each clean lap is taken relative to the driver's own median (so the field's mix of cars drops
out), fuel-corrected in a race; the field's median per lap (race) or per 5 minutes of session
time (qualifying, practice) is the curve, and a straight line through it the rate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.laps import clean_laps

BIN_MINUTES = 5.0


def track_evolution(laps: pd.DataFrame, race: bool = True) -> dict:
    """``{"x": [...], "delta": [...], "laps": [...], "unit": "lap"|"minute",
    "slope": s per unit, "total": change over the session}``."""
    clean = clean_laps(laps, race)
    if clean.empty:
        return {"x": [], "delta": [], "laps": [], "unit": "lap", "slope": None, "total": None}
    rel = clean["fc"] - clean.groupby("driver")["fc"].transform("median")
    if race:
        key, unit = clean["lap"], "lap"
    else:
        key, unit = (clean["time"] / 60.0 // BIN_MINUTES) * BIN_MINUTES, "minute"
    grouped = rel.groupby(key)
    curve = pd.DataFrame({"delta": grouped.median(), "laps": grouped.size()})
    curve = curve[curve["laps"] >= 3]
    x = curve.index.to_numpy(float)
    y = curve["delta"].to_numpy(float)
    slope = float(np.polyfit(x, y, 1)[0]) if len(x) >= 3 else None
    total = None if slope is None else slope * float(x.max() - x.min())
    return {
        "x": x.tolist(),
        "delta": np.round(y, 3).tolist(),
        "laps": curve["laps"].astype(int).tolist(),
        "unit": unit,
        "slope": slope,
        "total": total,
    }
