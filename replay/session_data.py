"""A past session's laps, drivers and car telemetry for analysis, through the replay's loader.

The API's analytics read sessions here (the one documented exception to its layers): the same
FastF1 cache (or online download) and parquet exports as ``simulate_live``. A session's laps
are kept as parquet in the state directory (``analytics/``), keyed by the session's cache
files, so that only the first request of a session pays for FastF1's parsing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.settings import Settings
from replay.catalog import EventInfo, load_schedule
from replay.errors import ReplayError, UnknownSessionError
from replay.fastf1_source import load_session, resolve_session
from replay.parquet_source import DATASETS
from schemas import session_keys
from schemas.session_keys import SESSION_CODES, event_slug

#: Columns of FastF1's ``Laps`` kept for analysis (those a source lacks are left out).
LAP_COLUMNS = [
    "Time", "Driver", "DriverNumber", "Team", "LapTime", "LapNumber", "Stint", "PitOutTime",
    "PitInTime", "Sector1Time", "Sector2Time", "Sector3Time", "SpeedI1", "SpeedI2", "SpeedFL",
    "SpeedST", "Compound", "TyreLife", "FreshTyre", "TrackStatus", "Position", "Deleted",
    "IsAccurate", "LapStartTime",
]  # fmt: skip
CACHE_FORMAT = 1
__all__ = [
    "SESSION_CODES",
    "NoTelemetryError",
    "SessionData",
    "event_for_key",
    "load_lap_telemetry",
    "load_session_data",
    "parse_session_key",
    "telemetry_sessions",
]
_KEY_RE = re.compile(r"^(\d{4})-([a-z0-9-]+)-([A-Za-z0-9]+)$")


class NoTelemetryError(ReplayError):
    """The session exists but its source holds no car telemetry."""


@dataclass
class SessionData:
    """What analytics need of a session: laps (FastF1 columns) and driver info."""

    session_key: str
    event: EventInfo
    code: str
    session_name: str
    laps: pd.DataFrame
    drivers: pd.DataFrame  # driver, number, team, team_colour
    telemetry_dir: Path | None = None  # per-driver parquet files, where the source has them

    @property
    def has_telemetry(self) -> bool:
        return self.telemetry_dir is not None


def parse_session_key(session_key: str) -> tuple[int, str, str]:
    """'2023-monaco-R' -> (2023, 'monaco', 'R'); UnknownSessionError if it is not one."""
    m = _KEY_RE.match(session_key)
    if not m or m.group(3).upper() not in SESSION_CODES:
        raise UnknownSessionError(
            f"{session_key!r} is not a session key of a past session: expected "
            "'<year>-<event>-<session>' with a session of "
            f"{', '.join(SESSION_CODES)}, e.g. '2023-monaco-R'"
        )
    return int(m.group(1)), m.group(2), m.group(3).upper()


def event_for_key(session_key: str, settings: Settings) -> tuple[EventInfo, str]:
    """The schedule's event and session code a session key names."""
    year, slug, code = parse_session_key(session_key)
    events = load_schedule(settings.data_dir / "fastf1_schedule", year)
    for ev in events:
        if event_slug(ev.event_name) == slug:
            return ev, code
    names = ", ".join(event_slug(e.event_name) for e in events)
    raise UnknownSessionError(f"no {year} event {slug!r}; events of {year}: {names}")


def telemetry_sessions(settings: Settings) -> list[str]:
    """Session keys whose source has car telemetry (for messages saying where to look)."""
    out = []
    for (year, event), rel in DATASETS.items():
        folder = settings.data_dir / rel / "telemetry"
        for code, name in SESSION_CODES.items():
            if (folder / name).is_dir():
                out.append(session_keys.session_key(year, event, code))
    return out


def load_session_data(session_key: str, settings: Settings) -> SessionData:
    """Laps and drivers of a past session (``UnknownSessionError`` if it cannot be found)."""
    event, code = event_for_key(session_key, settings)
    resolved = resolve_session(event.year, str(event.round), code, settings)
    name = SESSION_CODES[code]
    tel_dir = None
    if resolved.source == "parquet" and resolved.folder is not None:
        candidate = resolved.folder / "telemetry" / name
        tel_dir = candidate if candidate.is_dir() else None
    cache = None
    if resolved.files:
        cache = (
            settings.state_dir
            / "analytics"
            / (f"{resolved.session_key}-{resolved.fingerprint()}-v{CACHE_FORMAT}")
        )
        if (cache / "laps.parquet").exists() and (cache / "drivers.parquet").exists():
            laps = pd.read_parquet(cache / "laps.parquet")
            drivers = pd.read_parquet(cache / "drivers.parquet")
            return SessionData(session_key, event, code, name, laps, drivers, tel_dir)
    loaded = load_session(event.year, str(event.round), code, settings, timing_stream=False)
    ses = loaded.session
    laps = pd.DataFrame(ses.laps)[[c for c in LAP_COLUMNS if c in ses.laps.columns]].copy()
    for col in ("FreshTyre", "Deleted", "IsAccurate"):
        if col in laps:
            laps[col] = laps[col].astype("boolean")
    res = ses.results
    drivers = pd.DataFrame(
        {
            "driver": res["Abbreviation"].astype(str),
            "number": res["DriverNumber"].astype(str),
            "team": res["TeamName"].astype(str),
            "team_colour": res["TeamColor"].astype("string") if "TeamColor" in res else None,
        }
    ).reset_index(drop=True)
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        laps.to_parquet(cache / "laps.parquet")
        drivers.to_parquet(cache / "drivers.parquet")
    return SessionData(session_key, event, code, name, laps, drivers, tel_dir)


def load_lap_telemetry(data: SessionData, driver: str, settings: Settings) -> pd.DataFrame:
    """Every telemetry sample of one driver (``lap_number`` per sample); NoTelemetryError
    when the session's source has none."""
    if data.telemetry_dir is None:
        have = ", ".join(telemetry_sessions(settings)) or "none"
        raise NoTelemetryError(
            f"{data.session_key} has no car telemetry in the data directory (the FastF1 "
            f"cache holds laps and timing only). Sessions with telemetry: {have}"
        )
    row = data.drivers[data.drivers["driver"] == driver]
    path = data.telemetry_dir / f"{row['number'].iloc[0]}.parquet" if len(row) else None
    if path is None or not path.exists():
        raise NoTelemetryError(f"{data.session_key} has no telemetry of {driver}")
    return pd.read_parquet(path)
