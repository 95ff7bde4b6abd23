"""Reading a directory of Ergast-format CSVs (``races.csv``, ``results.csv``, ...).

The tables come back with the database's column names (snake_case, ``year`` -> ``season``,
``\\N`` -> null) so that the loader, the race model and the tests see one shape whatever the
source. Unknown extra columns are kept; a missing required table is an error naming it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

#: Table name -> CSV file stem. ``races`` and ``results`` are required, the rest optional.
CSV_TABLES: dict[str, str] = {
    "seasons": "seasons",
    "circuits": "circuits",
    "status": "status",
    "drivers": "drivers",
    "constructors": "constructors",
    "races": "races",
    "results": "results",
    "sprint_results": "sprint_results",
    "qualifying": "qualifying",
    "pit_stops": "pit_stops",
    "driver_standings": "driver_standings",
    "constructor_standings": "constructor_standings",
    "constructor_results": "constructor_results",
}
REQUIRED = ("races", "results", "drivers", "constructors", "circuits")

_RENAMES = {"year": "season", "driverStandingsId": "driver_standings_id"}
#: Columns that stay text even where every value looks like a number (lap and stop times,
#: Ergast's position text, clock times, names).
TEXT_COLUMNS = frozenset(
    {
        "time", "duration", "q1", "q2", "q3", "position_text", "fastest_lap_time", "url",
        "name", "status", "code", "circuit_ref", "driver_ref", "constructor_ref", "forename",
        "surname", "nationality", "location", "country", "date", "dob",
        *(f"{s}_{k}" for s in ("fp1", "fp2", "fp3", "quali", "sprint") for k in ("date", "time")),
    }
)  # fmt: skip


class ErgastSourceError(ValueError):
    """The directory is not a usable set of Ergast-format tables."""


def snake(name: str) -> str:
    """``positionOrder`` -> ``position_order``; ``year`` -> ``season``."""
    if name in _RENAMES:
        return _RENAMES[name]
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def read_table(directory: Path, name: str) -> pd.DataFrame | None:
    """One table of ``directory`` (None when its CSV is absent)."""
    path = directory / f"{CSV_TABLES[name]}.csv"
    if not path.exists():
        return None
    frame = pd.read_csv(
        path, dtype=str, na_values=["\\N", ""], keep_default_na=False, encoding="utf-8-sig"
    )
    frame.columns = [snake(c) for c in frame.columns]
    for col in frame.columns:
        if col in TEXT_COLUMNS:
            continue
        numbers = pd.to_numeric(frame[col], errors="coerce")
        if numbers.notna().sum() == frame[col].notna().sum():
            frame[col] = numbers
    if "season" in frame and name == "seasons":
        frame = frame[["season", *[c for c in frame.columns if c != "season"]]]
    return frame


def read_directory(directory: Path, seasons: range | None = None) -> dict[str, pd.DataFrame]:
    """Every known table of ``directory``; ``seasons`` keeps only those seasons' races."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ErgastSourceError(f"{directory} is not a directory of Ergast CSVs")
    tables = {n: t for n in CSV_TABLES if (t := read_table(directory, n)) is not None}
    missing = [n for n in REQUIRED if n not in tables]
    if missing:
        found = ", ".join(sorted(p.name for p in directory.glob("*.csv"))) or "no CSV files"
        raise ErgastSourceError(
            f"{directory} lacks {', '.join(f'{m}.csv' for m in missing)} (found: {found})"
        )
    if seasons is not None:
        races = tables["races"]
        keep = races[races["season"].isin(list(seasons))]
        tables["races"] = keep
        ids = set(keep["race_id"])
        for name, frame in tables.items():
            if name != "races" and "race_id" in frame:
                tables[name] = frame[frame["race_id"].isin(ids)]
        if "seasons" in tables:
            tables["seasons"] = tables["seasons"][tables["seasons"]["season"].isin(list(seasons))]
    return tables
