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


def with_clean(laps: pd.DataFrame) -> pd.DataFrame:
    """``laps`` with a ``clean`` column judged over the whole session (the clean-lap rule
    compares each lap with the session's median): analyses of a few drivers' laps then keep
    the session's verdicts, and the rule runs once."""
    if not len(laps):
        return laps.assign(clean=pd.Series(dtype=bool))
    if "race_id" not in laps:
        laps = laps.assign(race_id="session")
    return laps.assign(clean=clean_mask(laps))


def clean_laps(laps: pd.DataFrame, race: bool = True) -> pd.DataFrame:
    """Clean laps with a ``fc`` column (fuel-corrected in a race, the lap time otherwise);
    by the ``clean`` column where ``with_clean`` added one."""
    if not len(laps):
        return laps.assign(fc=pd.Series(dtype=float))
    if "race_id" not in laps:
        laps = laps.assign(race_id="session")
    ok = laps["clean"].astype(bool) if "clean" in laps else clean_mask(laps)
    out = laps[ok].copy()
    out["fc"] = fuel_corrected_times(out) if race else out["lap_time"]
    return out
