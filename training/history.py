"""Seasons of history from the data directory: the lap CSVs and the Ergast tables, read into
the race model's columns (``strategy.laptable``).

Both lap-CSV layouts of the data directory are accepted (the ``transformed_*`` files with lap
times in seconds, and the raw FastF1 exports with ``0 days 00:01:36.296`` timedeltas), so the
back-test can be pointed at any race in that format.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from strategy.circuits import canonical_circuit
from strategy.laptable import finish_laps, lap_table


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


def only_races(laps: pd.DataFrame, names: Iterable[str]) -> pd.DataFrame:
    """The laps of the events whose name holds one of ``names`` (all of them without names);
    ValueError naming the events there are when none matches."""
    names = [n.lower() for n in names]
    if not names:
        return laps
    wanted = laps["event"].str.lower().apply(lambda e: any(n in e for n in names))
    if not wanted.any():
        events = ", ".join(sorted(laps["event"].unique()))
        raise ValueError(f"No race matches {names}. Races there: {events}")
    return laps[wanted]
