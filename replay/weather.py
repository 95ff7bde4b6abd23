"""Weather of each session in a FastF1 cache, summarised per session for the race history.

FastF1 keeps a session's weather samples (one a minute: air and track temperature, humidity,
pressure, wind, rain flag) in ``weather_data.ff1pkl`` beside its other cache files, under
``<year>/<race date>_<Event_Name>/<session date>_<Session_Name>/``. Reading that pickle is
what ``Session.load(weather=True)`` does, without loading laps and timing, so summarising
every cached session takes a second. The race date of the event folder is what ties a
session to a race of the Ergast calendar.
"""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import pandas as pd

from replay.catalog import SESSION_CODES

log = logging.getLogger(__name__)

_CODE_BY_NAME = {name.replace(" ", "_"): code for code, name in SESSION_CODES.items()}
COLUMNS = [
    "season", "race_date", "session", "air_temp", "track_temp", "humidity", "pressure",
    "wind_speed", "rainfall", "samples",
]  # fmt: skip


def _summary(path: Path) -> dict[str, float] | None:
    try:
        with open(path, "rb") as fh:
            raw = pickle.load(fh)
        data = pd.DataFrame(raw["data"] if isinstance(raw, dict) else raw)
    except Exception as exc:  # a corrupt file should not stop the other sessions
        log.warning("weather file %s unreadable: %s", path, exc)
        return None
    if data.empty:
        return None

    def mean(col: str) -> float:
        return float(pd.to_numeric(data[col], errors="coerce").mean()) if col in data else None

    rain = (
        data["Rainfall"].astype(str).str.lower().isin(("true", "1")) if "Rainfall" in data else None
    )
    return {
        "air_temp": mean("AirTemp"),
        "track_temp": mean("TrackTemp"),
        "humidity": mean("Humidity"),
        "pressure": mean("Pressure"),
        "wind_speed": mean("WindSpeed"),
        "rainfall": float(rain.mean()) if rain is not None else None,
        "samples": len(data),
    }


def cached_session_weather(cache_dir: Path) -> pd.DataFrame:
    """One row per cached session with weather: season, race date, session code (R, Q, FP1,
    ...), mean air/track temperature, humidity, pressure, wind speed, the share of samples
    with rain, and the number of samples."""
    rows = []
    for path in sorted(Path(cache_dir).glob("*/*/*/weather_data.ff1pkl")):
        session_dir, event_dir, year_dir = (
            path.parent,
            path.parent.parent,
            path.parent.parent.parent,
        )
        race_date = event_dir.name.split("_", 1)[0]
        name = session_dir.name.split("_", 1)[1] if "_" in session_dir.name else ""
        code = _CODE_BY_NAME.get(name)
        if code is None or not year_dir.name.isdigit():
            continue
        summary = _summary(path)
        if summary:
            rows.append(
                {"season": int(year_dir.name), "race_date": race_date, "session": code, **summary}
            )
    return pd.DataFrame(rows, columns=COLUMNS)
