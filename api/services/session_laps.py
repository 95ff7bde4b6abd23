"""A session's lap table for the analyses: the archived session through the replay's loader
(kept for the last few sessions on the app's ``Resources``), or, while a session is live, the
laps the PostgreSQL sink has stored so far.

A key with a suffix (a replay published under a key of its own, ``2023-monaco-R-copy2``)
reads the session it copies.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import psycopg

from analytics.laps import with_clean
from analytics.session import SessionLaps
from api import queries
from api.resources import Resources
from api.services.cache import is_live
from api.services.errors import NotFound
from core.settings import Settings
from replay.errors import ReplayError, UnknownSessionError
from replay.session_data import (
    SESSION_CODES,
    SessionData,
    event_for_key,
    load_session_data,
)
from strategy.laptable import finish_laps, lap_table

log = logging.getLogger(__name__)

_BASE_KEY = re.compile(r"^(\d{4}-[a-z0-9-]+?-(?:R|Q|S|SQ|SS|FP1|FP2|FP3))(?:-[A-Za-z0-9-]+)?$")

#: FastF1 lap columns of the laps table's columns (the sink stores LapEvent fields).
_STORED = {
    "driver": "Driver", "driver_number": "DriverNumber", "team": "Team",
    "lap_number": "LapNumber", "lap_time": "LapTime", "sector1": "Sector1Time",
    "sector2": "Sector2Time", "sector3": "Sector3Time", "compound": "Compound",
    "tyre_life": "TyreLife", "fresh_tyre": "FreshTyre", "stint": "Stint",
    "position": "Position", "track_status": "TrackStatus", "is_accurate": "IsAccurate",
    "deleted": "Deleted", "speed_trap": "SpeedST", "session_time": "Time",
}  # fmt: skip
_NUMERIC = ("LapTime", "Sector1Time", "Sector2Time", "Sector3Time", "TyreLife", "Stint",
            "Position", "SpeedST", "Time")  # fmt: skip


@dataclass(frozen=True)
class LoadedSession:
    """A session as the replay's loader read it (``data``: its telemetry is read from there)
    and its laps as the analyses see them."""

    data: SessionData
    laps: SessionLaps


def base_session_key(session_key: str) -> str:
    """The past session a key names: a replay under ``2023-monaco-R-copy2`` is 2023 Monaco."""
    m = _BASE_KEY.match(session_key)
    return m.group(1) if m else session_key


def _analysed(data: SessionData, table: pd.DataFrame, source: str) -> LoadedSession:
    laps = SessionLaps(
        session_key=data.session_key,
        event_name=data.event.event_name,
        session_name=data.session_name,
        code=data.code,
        drivers=data.drivers,
        laps=with_clean(table),
        source=source,
    )
    return LoadedSession(data, laps)


def load(res: Resources, session_key: str) -> LoadedSession:
    """The archived session's lap table (kept for the last few sessions of this process);
    raises ``NotFound`` for a session the loader does not know or cannot read."""
    settings = res.settings
    session_key = base_session_key(session_key)
    memo_key = (session_key, settings.state_dir)
    kept = res.sessions.get(memo_key)
    if kept is not None:
        return kept
    try:
        data = load_session_data(session_key, settings)
    except UnknownSessionError as exc:
        raise NotFound(f"session {session_key!r}: {exc}") from None
    except ReplayError as exc:
        raise NotFound(f"session {session_key!r} cannot be loaded: {exc}") from None
    table = lap_table(
        data.laps, data.event.year, sprint=data.code == "S", event=data.event.event_name
    )
    session = _analysed(data, finish_laps(table), "archive")
    res.sessions.put(memo_key, session)
    return session


async def live_laps(res: Resources, session_key: str) -> pd.DataFrame | None:
    """The laps PostgreSQL holds of a live session (the sink stores them as they come), in
    FastF1's columns; None when the session is not live or nothing is stored."""
    if res.pg is None or not await is_live(res.redis, session_key):
        return None
    try:
        async with res.pg.connection(timeout=5) as conn:
            rows = await queries.analysis_laps(conn, session_key)
            total = await queries.total_laps(conn, session_key) if rows else None
    except (psycopg.Error, TimeoutError) as exc:  # no sink yet, or the database is down
        log.warning("live laps of %s unavailable (%s): analysing the archive", session_key, exc)
        return None
    if not rows:
        return None
    raw = pd.DataFrame(rows).rename(columns=_STORED)
    raw.attrs["total_laps"] = total
    raw["PitInTime"] = raw.pop("pit_in").map(lambda v: 1.0 if v else np.nan)
    raw["PitOutTime"] = raw.pop("pit_out").map(lambda v: 1.0 if v else np.nan)
    for col in _NUMERIC:
        raw[col] = pd.to_numeric(raw[col], errors="coerce").astype(float)
    return raw


def from_live(session_key: str, raw: pd.DataFrame, settings: Settings) -> LoadedSession:
    """A live session's lap table from its stored laps (``live_laps``)."""
    try:
        event, code = event_for_key(base_session_key(session_key), settings)
    except UnknownSessionError as exc:
        raise NotFound(f"session {session_key!r}: {exc}") from None
    drivers = (
        raw.drop_duplicates("Driver")
        .rename(columns={"Driver": "driver", "DriverNumber": "number", "Team": "team"})
        .assign(team_colour=None)[["driver", "number", "team", "team_colour"]]
        .reset_index(drop=True)
    )
    data = SessionData(session_key, event, code, SESSION_CODES[code], raw, drivers)
    table = finish_laps(lap_table(raw, event.year, sprint=code == "S", event=event.event_name))
    total = raw.attrs.get("total_laps")
    if total:  # the race's distance, not the laps run so far (fuel correction)
        table["laps_total"] = max(int(total), int(table["lap"].max()))
    return _analysed(data, table, "live")


def session_for(res: Resources, session_key: str, live: pd.DataFrame | None) -> LoadedSession:
    """The live laps stored so far when there are (``live_laps``), else the archived session."""
    if live is not None:
        return from_live(session_key, live, res.settings)
    return load(res, session_key)
