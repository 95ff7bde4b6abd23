"""What one race's feature rows are built from, besides the builder's running state: who
takes part (with the grid where known), the qualifying times in seconds and the weekend's
weather before the race.

Entrants of a race are its results' drivers when the race is run, else its qualifying's,
else the line-up of the last race run (the next race before the entry list is known).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from prerace.history import History


def quali_seconds(qualifying: pd.DataFrame) -> pd.DataFrame:
    """``qualifying`` with ``q1_s``, ``q2_s``, ``q3_s``: the lap times in seconds."""
    out = qualifying.copy()
    for q in ("q1", "q2", "q3"):
        col = out[q] if q in out else pd.Series(np.nan, index=out.index)
        text = col.astype("string").str.strip()
        parts = text.str.extract(r"^(?:(\d+):)?(\d+(?:\.\d+)?)$")
        minutes = pd.to_numeric(parts[0], errors="coerce").fillna(0.0)
        out[f"{q}_s"] = (minutes * 60 + pd.to_numeric(parts[1], errors="coerce")).astype(float)
    return out


def entrants_of(history: History, race_id: int, lineup: list[tuple[int, int]]) -> pd.DataFrame:
    """Who takes part in ``race_id``, with the grid where it is known (module docstring)."""
    res = history.results[history.results["race_id"] == race_id]
    if len(res):
        # by driver, never in the results' finishing order (ties would leak the winner)
        out = res[["driver_id", "constructor_id", "grid"]].sort_values("driver_id")
        return out.reset_index(drop=True)
    q = history.qualifying
    if q is not None:
        rows = q[q["race_id"] == race_id]
        if len(rows):
            out = rows[["driver_id", "constructor_id", "position"]].rename(
                columns={"position": "grid"}
            )
            return out.sort_values("driver_id").reset_index(drop=True)
    lineup_frame = pd.DataFrame(lineup, columns=["driver_id", "constructor_id"])
    return lineup_frame.sort_values("driver_id").reset_index(drop=True).assign(grid=np.nan)


PRACTICE = ("FP1", "FP2", "FP3")
QUALIFYING = ("Q", "SQ")


def weekend_weather(weather: pd.DataFrame | None) -> dict[str, float]:
    """Weather features of one weekend from its sessions' rows (``session``, ``rainfall``,
    ``air_temp``): practice for the pre-qualifying view, practice and qualifying for the
    post-qualifying one. The race's own weather is never a feature (it is not known before)."""
    if weather is None or weather.empty:
        return {}
    out: dict[str, float] = {}
    for moment, sessions in (("pre", PRACTICE), ("post", PRACTICE + QUALIFYING)):
        rows = weather[weather["session"].isin(sessions)]
        if len(rows):
            out[f"rain_{moment}"] = float(rows["rainfall"].max())
            out[f"air_temp_{moment}"] = float(rows["air_temp"].mean())
    return out
