"""Lap tables and history as the race model reads them: ../shared/data CSVs, normalised.

Both lap-CSV layouts of the data directory are accepted (the ``transformed_*`` files with lap
times in seconds, and the raw FastF1 exports with ``0 days 00:01:36.296`` timedeltas), so the
back-test can be pointed at any race in that format.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

DRY = ("SOFT", "MEDIUM", "HARD")
COMPOUNDS = ("SOFT", "MEDIUM", "HARD", "INTERMEDIATE", "WET")
COMPOUND_INDEX = {c: i for i, c in enumerate(COMPOUNDS)}


def circuit_slug(event_name: str) -> str:
    """'São Paulo Grand Prix' -> 'sao-paulo' (the middle of a session key)."""
    text = unicodedata.normalize("NFKD", str(event_name)).encode("ascii", "ignore").decode()
    text = re.sub(r"\bgrand prix\b", "", text.lower())
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-") or "unknown"


#: Other names of the same circuit (event renamed, or a slug written differently).
CIRCUIT_ALIASES = {
    "saudi-arabia": "saudi-arabian", "mexican": "mexico-city", "mexico": "mexico-city",
    "brazilian": "sao-paulo", "brazil": "sao-paulo", "styrian": "austrian", "austria": "austrian",
    "70th-anniversary": "british", "britain": "british", "great-britain": "british",
    "sakhir": "bahrain", "abu-dhabi-grand-prix": "abu-dhabi",
    "usa": "united-states", "us": "united-states", "italy": "italian", "emilia": "emilia-romagna",
    "imola": "emilia-romagna", "monza": "italian", "baku": "azerbaijan", "spain": "spanish",
    "hungary": "hungarian", "japan": "japanese", "china": "chinese", "belgium": "belgian",
    "netherlands": "dutch", "canada": "canadian", "australia": "australian",
    "france": "french", "portugal": "portuguese", "russia": "russian", "turkey": "turkish",
}  # fmt: skip


def canonical_circuit(name: str) -> str:
    """The one key of a circuit: slug of an event name or slug, renamed events merged."""
    slug = circuit_slug(str(name).replace("-", " "))
    return CIRCUIT_ALIASES.get(slug, slug)


def _seconds(col: pd.Series) -> pd.Series:
    if col.dtype.kind in "fi":
        return col.astype(float)
    return pd.to_timedelta(col, errors="coerce").dt.total_seconds()


def _bool(col: pd.Series) -> pd.Series:
    if col.dtype == bool:
        return col
    return col.astype(str).str.lower().isin(("true", "1", "1.0"))


def read_laps(paths: Iterable[Path | str], season: int | None = None) -> pd.DataFrame:
    """Race laps from lap CSVs, one row per driver lap, with race-level columns added.

    Columns: those of ``lap_table``.
    """
    frames = []
    for path in paths:
        path = Path(path)
        raw = pd.read_csv(path, low_memory=False)
        missing = {"Driver", "LapNumber", "LapTime", "EventName"} - set(raw.columns)
        if missing:
            raise ValueError(f"{path}: not a lap CSV (missing columns {sorted(missing)})")
        frames.append(
            lap_table(raw, season or _season_from_name(path), sprint="sprint" in path.name.lower())
        )
    return finish_laps(pd.concat(frames, ignore_index=True))


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


def finish_laps(laps: pd.DataFrame) -> pd.DataFrame:
    """Race-level columns of ``lap_table`` rows: circuit, race_id, green, neutralised,
    laps_total; duplicates dropped, sorted by race, driver and lap."""
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
    return laps.sort_values(["race_id", "driver", "lap"]).reset_index(drop=True)


def _season_from_name(path: Path) -> int:
    m = re.search(r"(19|20)\d{2}", path.name)
    if not m:
        raise ValueError(f"{path}: cannot tell the season from the file name; pass season=")
    return int(m.group(0))


def lap_files(data_dir: Path, seasons: Iterable[int], sprint: bool = False) -> list[Path]:
    """The race-lap CSVs of the given seasons (the ``transformed_*`` ones, one per season),
    plus the sprint-race CSVs of those seasons that have sprints when ``sprint``."""
    folder = data_dir / "laps" / "Data"
    out = []
    for year in seasons:
        path = folder / "grand_prix" / f"transformed_grand_prix_laps_{year}.csv"
        if not path.exists():
            raise FileNotFoundError(f"no lap CSV for {year}: {path}")
        out.append(path)
        sprint_path = folder / "sprint" / f"transformed_sprint_laps_{year}.csv"
        if sprint and sprint_path.exists():
            out.append(sprint_path)
    return out


def ergast_table(data_dir: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(data_dir / "ergast" / "data" / f"{name}.csv", na_values=["\\N"])


def ergast_races(data_dir: Path) -> pd.DataFrame:
    races = ergast_table(data_dir, "races")
    races["circuit"] = races["name"].map(canonical_circuit)
    races["race_name"] = races["year"].astype(str) + " " + races["name"]
    return races


#: The Ergast tables the fitted hazards read (``ergast_tables``).
HAZARD_TABLES = ("results", "status", "constructors", "drivers")


def ergast_tables(data_dir: Path, names: Iterable[str] = HAZARD_TABLES) -> dict[str, pd.DataFrame]:
    """Ergast tables by name, with ``races`` (circuit keys added) always among them."""
    tables = {name: ergast_table(data_dir, name) for name in names}
    tables["races"] = ergast_races(data_dir)
    return tables


def vsc_estimates(data_dir: Path) -> dict[str, list[int]]:
    path = data_dir / "ergast" / "data" / "virtual_safety_car_estimates.json"
    return json.loads(path.read_text()) if path.exists() else {}


def finishing_positions(data_dir: Path, season: int, event: str) -> dict[str, int]:
    """Final classification (driver code -> position) of a race, from Ergast results."""
    races = ergast_races(data_dir)
    race = races[(races["year"] == season) & (races["circuit"] == canonical_circuit(event))]
    if race.empty:
        return {}
    results = ergast_table(data_dir, "results")
    drivers = ergast_table(data_dir, "drivers")[["driverId", "code"]]
    res = results[results["raceId"] == int(race["raceId"].iloc[0])].merge(drivers, on="driverId")
    return {str(r.code): int(r.positionOrder) for r in res.itertuples()}


def race_results(data_dir: Path, season: int, event: str) -> dict[str, dict]:
    """Each driver's result of a race from Ergast (driver code -> ``position`` (final order),
    ``laps`` completed, ``status`` text, ``retired``: not classified as running at the flag)."""
    races = ergast_races(data_dir)
    race = races[(races["year"] == season) & (races["circuit"] == canonical_circuit(event))]
    if race.empty:
        return {}
    results = ergast_table(data_dir, "results")
    drivers = ergast_table(data_dir, "drivers")[["driverId", "code"]]
    status = ergast_table(data_dir, "status").set_index("statusId")["status"]
    res = results[results["raceId"] == int(race["raceId"].iloc[0])].merge(drivers, on="driverId")
    out = {}
    for r in res.itertuples():
        text = str(status.get(r.statusId, ""))
        out[str(r.code)] = {
            "position": int(r.positionOrder),
            "laps": int(r.laps),
            "status": text,
            "retired": not (text == "Finished" or text.startswith("+")),
        }
    return out
