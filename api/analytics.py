"""The analytics endpoints' work: a session's laps through the replay's loader, the race
model's analytics over them, and a Redis cache of the results.

Results are cached as the JSON the endpoint sends, under a key naming the endpoint, session
and parameters, for ``TTL_LIVE_S`` while the session is live (the Redis writer touched it in the
last ``LIVE_WINDOW_S``) and ``TTL_FINISHED_S`` otherwise. Everything here takes the app's
``Settings`` from the caller; nothing reads the environment.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import psycopg
from fastapi import HTTPException
from redis.asyncio import Redis

from analytics import consistency, evolution, head_to_head, pace, sectors, stints
from analytics import telemetry as tel
from analytics.laps import RACE_CODES, with_clean
from api.live import SESSIONS
from core.settings import Settings
from replay.errors import ReplayError, UnknownSessionError
from replay.session_data import (
    SESSION_CODES,
    NoTelemetryError,
    SessionData,
    event_for_key,
    load_lap_telemetry,
    load_session_data,
)
from strategy.laptable import finish_laps, lap_table

log = logging.getLogger(__name__)

TTL_LIVE_S = 10
TTL_FINISHED_S = 6 * 3600
LIVE_WINDOW_S = 300
CACHE_VERSION = 1
QUANTILES = ("min", "q1", "median", "q3", "max")
#: Team colours for sources that do not carry them (FastF1's 2023-2025 liveries).
TEAM_COLOURS = {
    "Red Bull Racing": "3671C6",
    "Ferrari": "E8002D",
    "Mercedes": "27F4D2",
    "McLaren": "FF8000",
    "Aston Martin": "229971",
    "Alpine": "0093CC",
    "Williams": "64C4FF",
    "AlphaTauri": "5E8FAA",
    "RB": "6692FF",
    "Racing Bulls": "6692FF",
    "Alfa Romeo": "C92D4B",
    "Kick Sauber": "52E252",
    "Haas F1 Team": "B6BABD",
}


@dataclass
class Session:
    """A session's data and its lap table (``strategy.laptable.lap_table`` columns)."""

    data: SessionData
    laps: pd.DataFrame
    source: str = "archive"  # or "live": the laps stored so far of a session being run

    @property
    def race(self) -> bool:
        return self.data.code in RACE_CODES

    def ref(self) -> dict[str, Any]:
        return {
            "session": self.data.session_key,
            "event": self.data.event.event_name,
            "session_name": self.data.session_name,
            "kind": "race" if self.race else "timed",
            "laps_source": self.source,
        }

    def colour(self, team: str | None) -> str | None:
        d = self.data.drivers
        raw = d[d["team"] == team]["team_colour"].dropna() if team else pd.Series(dtype=str)
        hexa = str(raw.iloc[0]) if len(raw) and str(raw.iloc[0]) else TEAM_COLOURS.get(team or "")
        return f"#{hexa}" if hexa else None

    def driver_refs(self, drivers: list[str] | None = None) -> list[dict[str, Any]]:
        d = self.data.drivers
        names = drivers or [x for x in d["driver"] if x in set(self.laps["driver"])]
        teams = dict(zip(d["driver"], d["team"], strict=False))
        return [
            {"driver": n, "team": teams.get(n), "colour": self.colour(teams.get(n))} for n in names
        ]

    def require_drivers(self, drivers: list[str]) -> None:
        ran = set(self.laps["driver"])
        missing = [d for d in drivers if d not in ran]
        if missing:
            raise HTTPException(
                404,
                f"{', '.join(missing)} did not run in {self.data.session_key}; drivers: "
                f"{', '.join(sorted(ran))}",
            )


_memo: OrderedDict[tuple[str, Path], Session] = OrderedDict()
_MEMO_SIZE = 8


def clear_memo() -> None:
    """Forget the lap tables kept in this process (benchmarks measure a cold start)."""
    _memo.clear()


_BASE_KEY = re.compile(r"^(\d{4}-[a-z0-9-]+?-(?:R|Q|S|SQ|SS|FP1|FP2|FP3))(?:-[A-Za-z0-9-]+)?$")


def base_session_key(session_key: str) -> str:
    """The past session a key names: a replay under ``2023-monaco-R-copy2`` is 2023 Monaco."""
    m = _BASE_KEY.match(session_key)
    return m.group(1) if m else session_key


def load(session_key: str, settings: Settings) -> Session:
    """The session's lap table (kept for the last few sessions of this process). A key with
    a suffix (a replay published under a key of its own) reads the session it copies."""
    session_key = base_session_key(session_key)
    memo_key = (session_key, settings.state_dir)
    if memo_key in _memo:
        _memo.move_to_end(memo_key)
        return _memo[memo_key]
    try:
        data = load_session_data(session_key, settings)
    except UnknownSessionError as exc:
        raise HTTPException(404, f"session {session_key!r}: {exc}") from None
    except ReplayError as exc:
        raise HTTPException(404, f"session {session_key!r} cannot be loaded: {exc}") from None
    table = lap_table(
        data.laps, data.event.year, sprint=data.code == "S", event=data.event.event_name
    )
    session = Session(data, with_clean(finish_laps(table)))
    _memo[memo_key] = session
    while len(_memo) > _MEMO_SIZE:
        _memo.popitem(last=False)
    return session


#: FastF1 lap columns of the laps table's columns (the sink stores LapEvent fields).
_STORED = {
    "driver": "Driver", "driver_number": "DriverNumber", "team": "Team",
    "lap_number": "LapNumber", "lap_time": "LapTime", "sector1": "Sector1Time",
    "sector2": "Sector2Time", "sector3": "Sector3Time", "compound": "Compound",
    "tyre_life": "TyreLife", "fresh_tyre": "FreshTyre", "stint": "Stint",
    "position": "Position", "track_status": "TrackStatus", "is_accurate": "IsAccurate",
    "deleted": "Deleted", "speed_trap": "SpeedST", "session_time": "Time",
}  # fmt: skip


async def live_laps(res: Any, session_key: str) -> pd.DataFrame | None:
    """The laps PostgreSQL holds of a live session (the sink stores them as they come), in
    FastF1's columns; None when the session is not live or nothing is stored."""
    from api import queries

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
    for col in ("LapTime", "Sector1Time", "Sector2Time", "Sector3Time", "TyreLife", "Stint",
                "Position", "SpeedST", "Time"):  # fmt: skip
        raw[col] = pd.to_numeric(raw[col], errors="coerce").astype(float)
    return raw


def from_live(session_key: str, raw: pd.DataFrame, settings: Settings) -> Session:
    """A live session's lap table from its stored laps (``live_laps``)."""
    try:
        event, code = event_for_key(base_session_key(session_key), settings)
    except UnknownSessionError as exc:
        raise HTTPException(404, f"session {session_key!r}: {exc}") from None
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
    return Session(data, with_clean(table), source="live")


def session_for(session_key: str, settings: Settings, live: pd.DataFrame | None) -> Session:
    """The live laps stored so far when there are, else the archived session."""
    return (
        from_live(session_key, live, settings) if live is not None else load(session_key, settings)
    )


# ---------------------------------------------------------------- cache


async def is_live(redis: Redis | None, session_key: str) -> bool:
    if redis is None:
        return False
    score = await redis.zscore(SESSIONS, session_key)
    return score is not None and time.time() - float(score) < LIVE_WINDOW_S


async def cached(
    redis: Redis | None,
    name: str,
    session_key: str,
    params: str,
    compute: Callable[..., Any],
    prepare: Callable[[], Awaitable[Any]] | None = None,
) -> bytes:
    """The JSON of ``compute()`` (run in a thread; given what ``prepare()`` returns when there
    is one, e.g. a live session's laps), from Redis when cached there."""
    key = f"pitwall:analytics:v{CACHE_VERSION}:{name}:{session_key}:{params}"
    if redis is not None:
        hit = await redis.get(key)
        if hit is not None:
            return hit
    args = (await prepare(),) if prepare is not None else ()
    result = await asyncio.to_thread(compute, *args)
    body = result if isinstance(result, bytes) else dumps(result)
    if redis is not None:
        ttl = TTL_LIVE_S if await is_live(redis, session_key) else TTL_FINISHED_S
        await redis.set(key, body, ex=ttl)
    return body


def dumps(obj: Any) -> bytes:
    if hasattr(obj, "model_dump_json"):
        return obj.model_dump_json().encode()
    return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)


def _num(v: Any, nd: int = 3) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(f) else round(f, nd)


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts with NaN as None."""
    return json.loads(df.to_json(orient="records"))


# ---------------------------------------------------------------- compare


def compare_drivers(s: Session, drivers: list[str]) -> dict[str, Any]:
    s.require_drivers(drivers)
    laps = s.laps
    mine = laps[laps["driver"].isin(drivers)]
    series = stints.lap_series(mine, s.race)
    out_laps, dist = {}, []
    for d in drivers:
        g = series[series["driver"] == d].sort_values("lap")
        out_laps[d] = {
            "lap": g["lap"].astype(int).tolist(),
            "lap_time": [_num(v) for v in g["lap_time"]],
            "fuel_corrected": [_num(v) for v in g["fc"]],
            "compound": g["compound"].astype(str).tolist(),
            "stint": [None if pd.isna(v) else int(v) for v in g["stint"]],
            "clean": g["clean"].astype(bool).tolist(),
        }
        c = g[g["clean"]]["fc"]
        q = c.quantile([0, 0.25, 0.5, 0.75, 1.0]).tolist() if len(c) else [None] * 5
        dist.append(
            {
                "driver": d,
                "laps": len(c),
                **{
                    k: _num(v) for k, v in zip(("min", "q1", "median", "q3", "max"), q, strict=True)
                },
                "mean": _num(c.mean()),
            }
        )
    # Pace compares every car on the same laps: the whole field goes into the fit.
    table = pace.race_pace(laps) if s.race else pace.quali_pace(laps)
    return {
        **s.ref(),
        "drivers": s.driver_refs(drivers),
        "laps": out_laps,
        "distribution": dist,
        "pace": records(table[table["driver"].isin(drivers)]),
        "sectors": sector_block(mine, drivers, s.race),
        "stints": stints.stint_degradation(mine) if s.race else [],
        "consistency": records(consistency.consistency(mine, race=s.race)),
    }


def sector_block(laps: pd.DataFrame, drivers: list[str], race: bool) -> dict[str, Any]:
    if not sectors.has_sectors(laps):
        return {"available": False, "note": "this session's source has no sector times"}
    table = sectors.sector_table(laps[laps["driver"].isin(drivers)], race)
    table = table.set_index("driver").loc[drivers].reset_index()  # in the order asked
    ref = drivers[0]
    deltas = sectors.sector_deltas(table, ref).set_index("driver")
    rows = []
    for r in table.itertuples(index=False):
        r = r._asdict()
        dl = deltas.loc[r["driver"]]
        names = sectors.SECTORS
        rows.append(
            {
                "driver": r["driver"],
                "best_lap": _num(r.get("best_lap")),
                "ideal_lap": _num(r.get("ideal_lap")),
                "best": [_num(r.get(f"best_{n}")) for n in names],
                "median": [_num(r.get(f"median_{n}")) for n in names],
                "delta_best": [_num(dl.get(f"best_{n}")) for n in names],
                "delta_median": [_num(dl.get(f"median_{n}")) for n in names],
                "speed_traps": {
                    t.removeprefix("speed_"): _num(r.get(f"top_{t}"), 1)
                    for t in sectors.SPEED_TRAPS
                    if f"top_{t}" in r
                },
            }
        )
    return {"available": True, "reference": ref, "rows": rows}


def compare_teams(s: Session) -> dict[str, Any]:
    laps = s.laps
    paced = pace.race_pace(laps, by="team") if s.race else pace.quali_pace(laps, by="team")
    paced = paced.set_index("team")
    slopes = pd.DataFrame(stints.stint_degradation(laps)) if s.race else pd.DataFrame()
    teams = []
    for team, g in laps.groupby("team"):
        if not team:
            continue
        med = {}
        if len(slopes):
            st = slopes[(slopes["team"] == team) & slopes["slope"].notna()]
            med = {
                str(c): round(float(v), 4)
                for c, v in st.groupby("compound")["slope"].median().items()
            }
        top = g["speed_st"].max() if "speed_st" in g else None
        teams.append(
            {
                "team": team,
                "colour": s.colour(team),
                "drivers": sorted(g["driver"].unique()),
                "pace": _num(paced["pace"].get(team)) if "pace" in paced else None,
                "gap": _num(paced["gap"].get(team)),
                "best_lap": _num(g["lap_time"].min()),
                "top_speed": _num(top, 1),
                "median_slope": med,
            }
        )
    teams.sort(key=lambda t: (t["gap"] is None, t["gap"] or 0.0))
    return {**s.ref(), "teams": teams}


def consistency_insight(s: Session) -> dict[str, Any]:
    return {**s.ref(), "drivers": records(consistency.consistency(s.laps, race=s.race))}


def head_to_head_insight(s: Session) -> dict[str, Any]:
    return {**s.ref(), "pairs": head_to_head.head_to_head(s.laps, race=s.race)}


def evolution_insight(s: Session) -> dict[str, Any]:
    return {**s.ref(), **evolution.track_evolution(s.laps, race=s.race)}


# ---------------------------------------------------------------- telemetry


def _lap_row(s: Session, driver: str, lap: int | None) -> pd.Series:
    s.require_drivers([driver])
    mine = s.laps[(s.laps["driver"] == driver) & s.laps["lap_time"].notna()]
    if lap is None:
        if mine.empty:
            raise HTTPException(404, f"{driver} has no timed lap in {s.data.session_key}")
        return mine.loc[mine["lap_time"].idxmin()]
    row = mine[mine["lap"] == lap]
    if row.empty:
        laps = mine["lap"].astype(int).tolist()
        span = f"{min(laps)}-{max(laps)}" if laps else "none"
        raise HTTPException(
            404, f"{driver} has no timed lap {lap} in {s.data.session_key} (timed laps: {span})"
        )
    return row.iloc[0]


def trace_of(s: Session, driver: str, lap: int | None, settings: Settings, step: float):
    row = _lap_row(s, driver, lap)
    try:
        samples = load_lap_telemetry(s.data, driver, settings)
    except NoTelemetryError as exc:
        raise HTTPException(404, str(exc)) from None
    n = int(row["lap"])
    lap_samples = samples[samples["lap_number"] == n]
    try:
        trace = tel.lap_trace(lap_samples, float(row["lap_time"]), step)
    except ValueError as exc:
        raise HTTPException(404, f"{driver} lap {n}: {exc}") from None
    return row, trace


def trace_json(driver: str, row: pd.Series, trace: tel.LapTrace, corners: list) -> dict:
    ch = trace.channels
    return {
        "driver": driver,
        "lap": int(row["lap"]),
        "lap_time": round(trace.lap_time, 3),
        "compound": str(row["compound"]),
        "length": round(trace.length, 1),
        "distance": np.round(trace.distance, 1),
        "time": np.round(trace.time, 3),
        "speed": np.round(ch["speed"], 1),
        "throttle": np.round(ch["throttle"], 1),
        "brake": np.round(ch["brake"], 2),
        "gear": ch["gear"].astype(int),
        "drs": ch["drs"].astype(int),
        "x": None if trace.x is None else np.round(trace.x, 0),
        "y": None if trace.y is None else np.round(trace.y, 0),
        "full_throttle": _num(tel.full_throttle_share(trace)),
        "corners": corners,
    }


def lap_telemetry(s: Session, driver: str, lap: int, settings: Settings, step: float) -> dict:
    row, trace = trace_of(s, driver, lap, settings, step)
    return {**s.ref(), **trace_json(driver, row, trace, tel.corner_speeds(trace))}


def compare_telemetry(
    s: Session, drivers: list[str], laps: list[int | None], settings: Settings, step: float
) -> dict:
    s.require_drivers(drivers)
    pairs = [trace_of(s, d, n, settings, step) for d, n in zip(drivers, laps, strict=True)]
    (row_a, ref), (row_b, other) = pairs
    return {
        **s.ref(),
        "reference": drivers[0],
        "traces": [
            trace_json(drivers[0], row_a, ref, tel.corner_speeds(ref)),
            trace_json(drivers[1], row_b, other, tel.corner_speeds(other)),
        ],
        "delta": np.round(tel.delta(ref, other), 3),
        "mini_sectors": tel.mini_sectors({drivers[0]: ref, drivers[1]: other}),
        "corners": tel.corner_comparison(ref, other),
    }


# ---------------------------------------------------------------- battles

_battle_models: dict[Path, Any] = {}


def battle_model(settings: Settings) -> Any:
    """The newest battle model of the model directory (503 when none was trained)."""
    from strategy import battles

    folder = battles.latest(settings.model_dir) if settings.model_dir.exists() else None
    if folder is None:
        raise HTTPException(
            503, f"no battle model in {settings.model_dir}: run `pitwall battles train`"
        )
    if folder not in _battle_models:
        _battle_models[folder] = battles.load(settings.model_dir)
    return _battle_models[folder]


def battles_from_laps(
    s: Session, model: Any, from_lap: int | None, to_lap: int | None
) -> dict[str, Any]:
    """The forecast at the end of every lap of a past race, with what really happened."""
    from strategy import battles

    if not s.race:
        raise HTTPException(
            404, f"{s.data.session_key} is not a race: battles are forecast for races and sprints"
        )
    pairs = battles.forecast_pairs(battles.pair_frame(s.laps), model)
    usable, passed = battles.outcome(pairs, 3)
    pairs = pairs.assign(usable=usable, passed=passed)
    if from_lap is not None:
        pairs = pairs[pairs["lap"] >= from_lap]
    if to_lap is not None:
        pairs = pairs[pairs["lap"] <= to_lap]
    out = []
    for lap, g in pairs.groupby("lap"):
        rows, actual = [], {}
        for r in g.itertuples(index=False):
            rows.append(
                {
                    "position": int(r.position),
                    "ahead": r.ahead,
                    "behind": r.behind,
                    "gap": _num(r.gap),
                    "drs": bool(r.gap < battles.DRS_GAP_S),
                    "pace_delta": _num(r.pace_behind - r.pace_ahead),
                    "tyre_age_delta": _num(r.tyre_age_behind - r.tyre_age_ahead),
                    "compound_ahead": r.compound_ahead,
                    "compound_behind": r.compound_behind,
                    "p_pass_1": round(float(r.p_pass_1), 4),
                    "p_pass_3": round(float(r.p_pass_3), 4),
                    "p_pass_5": round(float(r.p_pass_5), 4),
                }
            )
            actual[f"{r.ahead}-{r.behind}"] = bool(r.passed) if r.usable else None
        out.append({"lap": int(lap), "pairs": rows, "passed_within_3": actual})
    return {
        "session": s.data.session_key,
        "source": "laps",
        "model_version": model.version,
        "laps": out,
    }


# ---------------------------------------------------------------- track map

_outlines: dict[tuple[str, Path], dict[str, Any]] = {}


def outline_feature(data_dir: Path, location: str) -> dict[str, Any] | None:
    """The GeoJSON feature of the circuit at ``location`` (e.g. 'Melbourne')."""
    from strategy.circuits import circuit_slug as fold

    path = data_dir / "telemetry/track_outlines/bacinger-geojson/f1-circuits.geojson"
    if not path.exists():
        return None
    features = json.loads(path.read_text())["features"]
    want = fold(location)
    for f in features:
        props = f["properties"]
        if fold(props.get("Location", "")) == want or want in fold(props.get("Name", "")):
            return f
    return None


def track_map(s: Session, settings: Settings) -> dict[str, Any]:
    """The circuit outline in the cars' X/Y where the session has telemetry, else in metres."""
    from analytics import trackmap

    key = (s.data.session_key, settings.data_dir)
    if key in _outlines:
        return _outlines[key]
    feature = outline_feature(settings.data_dir, s.data.event.location)
    if feature is None:
        raise HTTPException(
            404,
            f"no circuit outline for {s.data.event.location} in "
            f"{settings.data_dir / 'telemetry/track_outlines'}",
        )
    outline = trackmap.project(np.array(feature["geometry"]["coordinates"], float))
    frame, residual = "metres", None
    if s.data.has_telemetry:
        for driver in s.data.drivers["driver"]:
            try:
                _, trace = trace_of(s, driver, None, settings, 10.0)
            except HTTPException:
                continue
            if trace.x is None:
                continue
            sim = trackmap.align(outline, np.column_stack([trace.x, trace.y]))
            outline, frame, residual = sim.apply(outline), "car", sim.residual / 10.0
            break
    result = {
        "session": s.data.session_key,
        "circuit": feature["properties"].get("Name"),
        "length_m": feature["properties"].get("length"),
        "frame": frame,
        "outline": np.round(outline, 1).tolist(),
        "residual_m": None if residual is None else round(residual, 2),
        "drivers": s.driver_refs(list(s.data.drivers["driver"])),
    }
    _outlines[key] = result
    return result
