"""The race model's input for a live session now (``RaceStateIn``), for the what-if planner:
the dashboard posts it with the plans to compare to ``POST /strategies/compare``.

Built from the live state the Redis writer keeps: the running cars in tower order with their
gaps (a lapped car's gap at the line), tyres and stops; each car's pace from the worker's
degradation fit of its current stint (fuel-corrected, at the tyres' age now); the dry
compounds each car has run from the stints PostgreSQL stored, where it is configured.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from redis.asyncio import Redis

from api import live, queries
from api.models import COMPOUND_NAMES, TRACK_STATES, DriverStateIn, RaceStateIn
from api.services.errors import Invalid, NotFound
from strategy.circuits import circuit_slug
from strategy.compounds import DRY
from strategy.standings import OUT

#: Seconds a lap down counts as when a lapped car has no gap at the line yet.
LAP_S = 90.0


def _pace(deg: dict[str, Any] | None) -> float | None:
    """Fuel-corrected pace now on the current set: the stint's fitted line at its age."""
    if not deg or deg.get("intercept") is None or (deg.get("laps_in_fit") or 0) < 2:
        return None
    pace = deg["intercept"] + deg["slope"] * (deg.get("tyre_life") or 0.0)
    return round(pace, 3) if 40 < pace < 300 else None


def _gap(row: dict[str, Any]) -> float:
    if row.get("gap_to_leader") is not None:
        return float(row["gap_to_leader"])
    if row.get("line_gap") is not None:
        return float(row["line_gap"])
    return LAP_S * (row.get("laps_down") or 1)


async def _compounds_used(conn: AsyncConnection | None, session_key: str) -> dict[str, list[str]]:
    if conn is None:
        return {}
    used: dict[str, list[str]] = {}
    for s in sorted(await queries.stints(conn, session_key, None), key=lambda s: s["stint"]):
        if s["compound"] in DRY and s["compound"] not in used.setdefault(s["driver"], []):
            used[s["driver"]].append(s["compound"])
    return used


def _driver(row: dict[str, Any], position: int, used: list[str], deg: Any) -> DriverStateIn:
    compound = row.get("compound") if row.get("compound") in COMPOUND_NAMES else "UNKNOWN"
    return DriverStateIn(
        driver=row["driver"],
        position=position,
        gap_to_leader=min(max(_gap(row), 0.0), 36_000.0),
        compound=compound,
        tyre_age=min(int(row.get("tyre_age") or 0), 80),
        stops=min(row.get("stops") or 0, 10),
        compounds_used=[c for c in used if c in COMPOUND_NAMES][:20],
        pace=_pace(deg),
        team=(row.get("team") or None) and str(row["team"])[:60],
    )


async def race_state(redis: Redis, conn: AsyncConnection | None, session_key: str) -> RaceStateIn:
    """The session's race now, as ``POST /strategies/compare`` takes it."""
    snap = await live.snapshot(redis, session_key, history=0)
    if not snap["known"]:
        raise NotFound(f"no live state for session {session_key!r}")
    info = snap["info"] or {}
    running = [
        r
        for r in snap["standings"]
        if not r.get("retired") and r.get("status") not in OUT and r.get("lap_number")
    ]
    if not running:
        raise Invalid(f"session {session_key!r} has no car with a completed lap yet")
    lap = max(r["lap_number"] for r in running)
    total = info.get("total_laps") or (snap["strategy"] or {}).get("laps_total")
    if not total or lap >= total:
        raise Invalid(f"no laps left to plan in {session_key!r} (lap {lap} of {total or '?'})")
    used = await _compounds_used(conn, session_key)
    degradation = snap["degradation"]
    track = (snap["track_status"] or {}).get("state", "green")
    year = info.get("year") or int(session_key[:4])
    return RaceStateIn(
        session_key=session_key,
        circuit=circuit_slug(info["event_name"])
        if info.get("event_name")
        else session_key.split("-", 1)[-1].rsplit("-", 1)[0],
        year=year,
        lap=lap,
        laps_total=total,
        track_status=track if track in TRACK_STATES else "green",
        drivers=[
            _driver(r, k, used.get(r["driver"], [r.get("compound")]), degradation.get(r["driver"]))
            for k, r in enumerate(running, start=1)
        ],
    )
