"""The laps every analysis starts from: clean laps (``strategy.laptime.clean_mask``) with
their fuel-corrected times (``strategy.fuel``)."""

from __future__ import annotations

import pandas as pd

from strategy.fuel import FUEL_S_PER_LAP
from strategy.laptime import clean_mask

#: Session codes whose laps are raced with fuel burning off (fuel correction applies).
RACE_CODES = ("R", "S")


def fuel_corrected_times(laps: pd.DataFrame) -> pd.Series:
    """Lap times as they would be with an empty tank (``strategy.fuel.fuel_corrected``)."""
    return laps["lap_time"] - FUEL_S_PER_LAP * (laps["laps_total"] - laps["lap"]).clip(lower=0)


def clean_laps(laps: pd.DataFrame, race: bool = True) -> pd.DataFrame:
    """Clean laps with a ``fc`` column (fuel-corrected in a race, the lap time otherwise)."""
    if not len(laps):
        return laps.assign(fc=pd.Series(dtype=float))
    if "race_id" not in laps:
        laps = laps.assign(race_id="session")
    ok = clean_mask(laps)
    out = laps[ok].copy()
    out["fc"] = fuel_corrected_times(out) if race else out["lap_time"]
    return out
