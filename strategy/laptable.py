"""Lap tables in the race model's columns, from any FastF1 lap frame or from lap events.

``lap_table`` maps a FastF1 lap export (a CSV of the data directory or a loaded session's
``laps``) to the race model's columns, ``laps_from_events`` does the same for the live feed's
lap events, and ``finish_laps`` adds the race-level columns. The training seasons are read
by ``training.history``; the API's analytics read sessions through the replay's loader.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from strategy.circuits import circuit_slug


def _seconds(col: pd.Series) -> pd.Series:
    if col.dtype.kind in "fi":
        return col.astype(float)
    return pd.to_timedelta(col, errors="coerce").dt.total_seconds()


def _bool(col: pd.Series) -> pd.Series:
    if col.dtype == bool:
        return col
    return col.astype(str).str.lower().isin(("true", "1", "1.0"))


#: FastF1's sector and speed-trap columns -> the lap table's (kept where the source has them).
SECTOR_COLUMNS = {"Sector1Time": "sector1", "Sector2Time": "sector2", "Sector3Time": "sector3"}
SPEED_COLUMNS = {"SpeedI1": "speed_i1", "SpeedI2": "speed_i2", "SpeedFL": "speed_fl",
                 "SpeedST": "speed_st"}  # fmt: skip


def lap_table(
    raw: pd.DataFrame, season: int, sprint: bool = False, event: str | None = None
) -> pd.DataFrame:
    """One FastF1 lap export (a lap CSV, or a loaded session's ``laps``) in the race model's
    columns: season, round, event, driver, team, lap, lap_time, stint, compound, compound_c,
    tyre_life, track_status, position, pit_in, pit_out, accurate, time (session time at lap
    end, s), sprint, plus sector1-3 and speed_i1/i2/fl/st where the source has them.
    ``event`` names the event when the frame has no ``EventName`` column. ``finish_laps``
    adds the race-level columns."""
    n = pd.Series(np.nan, index=raw.index)
    event_col = raw["EventName"].astype(str) if "EventName" in raw else event or "unknown"
    df = pd.DataFrame(
        {
            "season": season,
            "round": raw.get("RoundNumber", pd.Series(0, index=raw.index)).fillna(0).astype(int),
            "event": event_col,
            "driver": raw["Driver"].astype(str),
            "team": raw.get("Team", pd.Series("", index=raw.index)).fillna("").astype(str),
            "lap": raw["LapNumber"].astype(float),
            "lap_time": _seconds(raw["LapTime"]),
            "stint": raw.get("Stint", n).astype(float),
            "compound": raw.get("Compound", pd.Series("UNKNOWN", index=raw.index))
            .fillna("UNKNOWN")
            .astype(str)
            .str.upper(),
            "tyre_life": raw.get("TyreLife", n).astype(float),
            "track_status": raw.get("TrackStatus", pd.Series("1", index=raw.index))
            .fillna(1)
            .astype(str)
            .str.replace(r"\.0$", "", regex=True),
            "position": raw.get("Position", n).astype(float),
            "pit_in": raw["PitInTime"].notna() if "PitInTime" in raw else False,
            "pit_out": raw["PitOutTime"].notna() if "PitOutTime" in raw else False,
            "accurate": _bool(raw.get("IsAccurate", pd.Series(True, index=raw.index))),
            "time": _seconds(raw["Time"]) if "Time" in raw else np.nan,
        }
    )
    for src, dst in SECTOR_COLUMNS.items():
        if src in raw:
            df[dst] = _seconds(raw[src])
    for src, dst in SPEED_COLUMNS.items():
        if src in raw:
            df[dst] = pd.to_numeric(raw[src], errors="coerce").astype(float)
    cname = raw.get("CompoundName")
    df["compound_c"] = (
        cname.astype(str).str.extract(r"C(\d)")[0].astype(float).fillna(-1)
        if cname is not None
        else -1.0
    )
    df["sprint"] = sprint
    return df


def laps_from_events(
    events: Iterable, season: int, event: str, sprint: bool = False
) -> pd.DataFrame:
    """Completed-lap events (``schemas.LapEvent``: the live feed's or a replay's) as a lap
    table like ``read_laps``', so that they go through the same feature builder."""
    rows = [
        {
            "season": season, "round": 0, "event": event, "driver": e.driver,
            "team": e.team or "", "lap": float(e.lap_number),
            "lap_time": np.nan if e.lap_time is None else e.lap_time,
            "stint": np.nan if e.stint is None else float(e.stint),
            "compound": (e.compound or "UNKNOWN").upper(),
            "tyre_life": np.nan if e.tyre_life is None else e.tyre_life,
            "track_status": e.track_status or "1",
            "position": np.nan if e.position is None else float(e.position),
            "pit_in": bool(e.pit_in), "pit_out": bool(e.pit_out),
            "accurate": bool(e.is_accurate) if e.is_accurate is not None else True,
            "time": e.event_time.session_time, "compound_c": -1.0, "sprint": sprint,
        }
        for e in events
    ]  # fmt: skip
    return finish_laps(pd.DataFrame(rows))


def tyre_sets(laps: pd.DataFrame) -> pd.Series:
    """Each row's set of tyres, numbered from 1 per race and driver: a new set when the
    compound changes or the tyre age falls (without ages, when the source's stint changes).
    The timing's own stint number also counts a drive through the pit lane under a safety
    car, with the same tyres on, as a new stint; a set is what the strategy is made of."""
    key = [laps["race_id"], laps["driver"]]
    prev = laps.groupby(key, sort=False)[["compound", "tyre_life", "stint"]].shift()
    new = prev["compound"].isna() | (laps["compound"] != prev["compound"])
    new |= laps["tyre_life"] < prev["tyre_life"]
    unknown = laps["tyre_life"].isna() | prev["tyre_life"].isna()
    new |= unknown & (laps["stint"] != prev["stint"]) & prev["stint"].notna()
    return new.astype(int).groupby(key, sort=False).cumsum().astype(float)


def finish_laps(laps: pd.DataFrame) -> pd.DataFrame:
    """Race-level columns of ``lap_table`` rows: circuit, race_id, green, neutralised,
    laps_total, the stint as the set of tyres (``tyre_sets``); duplicates dropped, sorted by
    race, driver and lap."""
    laps = laps.dropna(subset=["lap"]).copy()
    laps["lap"] = laps["lap"].astype(int)
    laps["circuit"] = laps["event"].map(circuit_slug)
    laps["race_id"] = laps["season"].astype(str) + "-" + laps["circuit"]
    laps.loc[laps["sprint"], "race_id"] += "-sprint"
    laps["green"] = laps["track_status"] == "1"
    # SC (4), red flag (5), VSC deployed / ending (6, 7) at any time of the lap.
    laps["neutralised"] = laps["track_status"].str.contains("[4567]", regex=True)
    laps["laps_total"] = laps.groupby("race_id")["lap"].transform("max")
    laps = laps.drop_duplicates(["race_id", "driver", "lap"])
    laps = laps.sort_values(["race_id", "driver", "lap"]).reset_index(drop=True)
    laps["stint"] = tyre_sets(laps)
    return laps
