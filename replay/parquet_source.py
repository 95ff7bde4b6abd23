"""Sessions kept as parquet exports (laps, weather, per-car telemetry) instead of FastF1 pickles.

The 2025 Australian GP in ``telemetry/aus2025`` of the data directory is the one race we hold
with car telemetry for every car. It is loaded into the same shape as a FastF1 session so the
timeline builder treats it like any other race, plus its telemetry samples.
"""

from __future__ import annotations

import types
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from core.settings import Settings
from replay.catalog import EventInfo
from replay.errors import CorruptCacheError

#: (season, event name) -> folder under the data directory holding a parquet export.
DATASETS: dict[tuple[int, str], str] = {(2025, "Australian Grand Prix"): "telemetry/aus2025"}


def find_dataset(settings: Settings, event: EventInfo, session_name: str) -> Path | None:
    """The parquet export of a session, if the data directory has one."""
    rel = DATASETS.get((event.year, event.event_name))
    if rel is None:
        return None
    folder = settings.data_dir / rel
    if (folder / "session" / f"laps_{session_name}.parquet").exists():
        return folder
    return None


def dataset_files(folder: Path, session_name: str) -> list[Path]:
    files = [
        folder / "session" / f"laps_{session_name}.parquet",
        folder / "session" / f"weather_{session_name}.parquet",
        *sorted((folder / "telemetry" / session_name).glob("*.parquet")),
    ]
    return [f for f in files if f.exists()]


def _read(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:
        raise CorruptCacheError(
            f"parquet file {path} is unreadable ({type(exc).__name__}: {exc}). "
            "Nothing was published."
        ) from exc


def load_parquet_session(
    event: EventInfo, session_name: str, folder: Path
) -> types.SimpleNamespace:
    """A FastF1-session look-alike (laps, results, status, weather) plus ``telemetry``."""
    laps = _read(folder / "session" / f"laps_{session_name}.parquet")
    if "Deleted" not in laps:
        laps["Deleted"] = np.nan
    laps["DriverNumber"] = laps["DriverNumber"].astype(str)
    weather_path = folder / "session" / f"weather_{session_name}.parquet"
    weather = _read(weather_path) if weather_path.exists() else None
    drivers = laps.drop_duplicates("DriverNumber")
    results = pd.DataFrame(
        {
            "DriverNumber": drivers["DriverNumber"].astype(str),
            "Abbreviation": drivers["Driver"],
            "FullName": None,
            "TeamName": drivers["Team"],
            "TeamColor": None,
        }
    )
    start = pd.to_timedelta(laps["LapStartTime"].min(), unit="s")
    end = pd.to_timedelta(laps["Time"].max(), unit="s")
    status = pd.DataFrame({"Time": [start, end], "Status": ["Started", "Finished"]})
    session_info = _session_info(event, session_name)
    tel = []
    tla = dict(zip(results["DriverNumber"], results["Abbreviation"], strict=False))
    for path in sorted((folder / "telemetry" / session_name).glob("*.parquet")):
        df = _read(path)
        df["Driver"] = tla.get(path.stem, path.stem)
        tel.append(df)
    telemetry = pd.concat(tel, ignore_index=True) if tel else None
    return types.SimpleNamespace(
        laps=laps,
        results=results,
        session_status=status,
        session_info=session_info,
        track_status=None,
        race_control_messages=None,
        weather_data=weather,
        total_laps=int(laps["LapNumber"].max()),
        name=session_name,
        telemetry=telemetry,
    )


def empty_stream() -> pd.DataFrame:
    """The timing stream such exports lack (no position/gap updates between laps)."""
    return pd.DataFrame(
        columns=["Time", "Driver", "Position", "GapToLeader", "IntervalToPositionAhead"]
    )


def telemetry_frame(telemetry: pd.DataFrame, every: int = 1) -> pd.DataFrame:
    """Telemetry samples (every ``every``-th per car) with session time in seconds, ordered."""
    t = (
        telemetry
        if every == 1
        else telemetry.groupby("Driver", sort=False).nth(slice(None, None, every))
    )
    t = t.copy()
    t["t"] = t["SessionTime"].dt.total_seconds()
    return t.dropna(subset=["t"]).sort_values("t", kind="stable")


def _session_info(event: EventInfo, session_name: str) -> dict[str, object]:
    """Scheduled local start and GMT offset, as FastF1's ``session_info`` holds them."""
    local, offset = event.sessions.get(session_name), event.gmt_offset
    if not local or not offset:
        return {}
    sign = -1 if offset.startswith("-") else 1
    hours, minutes = (int(x) for x in offset.lstrip("+-").split(":")[:2])
    return {
        "StartDate": datetime.fromisoformat(local),
        "GmtOffset": sign * timedelta(hours=hours, minutes=minutes),
    }
