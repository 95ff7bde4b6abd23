"""A session's race so far for the strategy chart and the race trace: every car's laps with its
gap at the line, tyres and stops, the cars out of the race, and the safety-car periods, from
what the PostgreSQL sink stored.

Gaps at the line are the standings rules' (``strategy.standings.RaceLine``): seconds behind
the first car to complete the same lap, so the last lap's are the classification's gaps. The
dashboard adds each live lap's ``line_gap`` (the Redis writer's, same rule) to this.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from api import queries
from api.models import ChartDriver, ChartLap, RaceChart, TrackPeriod
from api.services.errors import NotFound
from strategy.standings import RaceLine

#: Track states shaded on the charts.
NEUTRALISED = ("sc", "vsc", "vsc_ending", "red")


def lap_of(crossings: dict[str, float], session_time: float) -> float:
    """Where the leader was at ``session_time``, in laps (3.5: halfway round lap 4)."""
    laps = sorted((int(k), t) for k, t in crossings.items())
    if not laps:
        return 0.0
    prev_lap, prev_t = 0, laps[0][1] - (laps[1][1] - laps[0][1] if len(laps) > 1 else 90.0)
    for lap, t in laps:
        if session_time <= t:
            span = t - prev_t
            return round(prev_lap + (session_time - prev_t) / span if span > 0 else lap, 3)
        prev_lap, prev_t = lap, t
    return float(prev_lap)


def periods(changes: list[dict[str, Any]], crossings: dict[str, float]) -> list[TrackPeriod]:
    """The safety-car, VSC and red-flag periods, in leader laps (an open one has no end)."""
    out: list[TrackPeriod] = []
    for change in sorted(changes, key=lambda c: c["session_time"]):
        at = lap_of(crossings, change["session_time"])
        state = change["state"]
        if out and out[-1].end is None and out[-1].state != state:
            out[-1].end = at
        if state in NEUTRALISED and (not out or out[-1].end is not None):
            out.append(TrackPeriod(state="vsc" if state == "vsc_ending" else state, start=at))
    return out


async def _retirements(conn: AsyncConnection, session_key: str) -> dict[str, dict[str, Any]]:
    rows = await queries.fetch(
        conn,
        "SELECT DISTINCT ON (driver) driver, lap, reason FROM session_events "
        "WHERE session_key = %s AND kind = 'car_status' AND car_status IN ('retired', 'stopped') "
        "ORDER BY driver, session_time",
        session_key,
    )
    return {r["driver"]: r for r in rows}


async def race_chart(conn: AsyncConnection, session_key: str) -> RaceChart:
    """Every car's laps (gap at the line, tyres, stops), retirements and SC/VSC periods."""
    laps = await queries.laps(conn, session_key)
    if not laps and not await queries.session_exists(conn, session_key):
        raise NotFound(f"session {session_key!r} not found in the database")
    line = RaceLine()
    drivers: dict[str, list[ChartLap]] = {}
    for lap in sorted(laps, key=lambda r: (r["session_time"] is None, r["session_time"] or 0)):
        if lap["session_time"] is None:
            continue
        gap, down, _ = line.cross(lap["lap_number"], lap["session_time"])
        point = ChartLap(
            lap=lap["lap_number"], gap=gap, laps_down=down, compound=lap["compound"],
            stint=lap["stint"], tyre_life=lap["tyre_life"], pit_in=bool(lap["pit_in"]),
            pit_out=bool(lap["pit_out"]), position=lap["position"], lap_time=lap["lap_time"],
        )  # fmt: skip
        drivers.setdefault(lap["driver"], []).append(point)
    out = await _retirements(conn, session_key)
    track = await queries.track_status(conn, session_key)
    return RaceChart(
        session_key=session_key,
        laps_total=await queries.total_laps(conn, session_key),
        drivers=[
            ChartDriver(
                driver=d,
                laps=sorted(rows, key=lambda r: r.lap),
                out_lap=out[d]["lap"] if d in out else None,
                out_reason=out[d]["reason"] if d in out else None,
            )
            for d, rows in sorted(drivers.items())
        ],
        track=periods(track, line.crossings),
    )
