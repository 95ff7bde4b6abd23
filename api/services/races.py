"""The calendar of a season (with each race's winner and favourite) and the results of a race
(with the weekend's weather), from the F1 history in PostgreSQL."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from api.history_models import Calendar, CalendarRace, RaceResults, ResultRow, Weather
from api.services import history
from api.services.errors import NotFound

CALENDAR_SQL = """
    SELECT r.race_id, r.season, r.round, r.name AS race_name, r.date, r.time,
           r.sprint_date IS NOT NULL AS sprint_weekend, c.name AS circuit, c.location,
           c.country,
           (SELECT d.forename || ' ' || d.surname
            FROM results x JOIN drivers d USING (driver_id)
            WHERE x.race_id = r.race_id AND x.position = 1 LIMIT 1) AS winner,
           EXISTS (SELECT 1 FROM results x WHERE x.race_id = r.race_id) AS completed
    FROM races r LEFT JOIN circuits c USING (circuit_id)
    WHERE r.season = %s ORDER BY r.round
"""
#: Each race's favourite: the latest moment's highest win chance.
FAVOURITES_SQL = """
    SELECT DISTINCT ON (p.race_id) p.race_id, p.moment, p.driver_id, p.p_win,
           p.model_version, d.forename || ' ' || d.surname AS name
    FROM predictions p JOIN races r USING (race_id) JOIN drivers d USING (driver_id)
    WHERE r.season = %s
    ORDER BY p.race_id, (p.moment = 'post') DESC, p.p_win DESC
"""
RESULT_SQL = """
    SELECT x.position, x.position_text, x.driver_id, d.forename || ' ' || d.surname AS driver_name,
           d.code, c.name AS team, x.grid, x.laps, x.time, x.points, s.status,
           x.rank AS fastest_lap_rank
    FROM {table} x JOIN drivers d USING (driver_id)
    LEFT JOIN constructors c USING (constructor_id) LEFT JOIN status s USING (status_id)
    WHERE x.race_id = %s ORDER BY x.position_order
"""
WEATHER_SQL = """
    SELECT session, air_temp, track_temp, humidity, pressure, wind_speed, rainfall, samples
    FROM race_weather WHERE race_id = %s ORDER BY session
"""
#: Which session's weather stands for the race's, best first.
WEATHER_ORDER = {"R": 0, "S": 1, "Q": 2, "SQ": 3, "FP3": 4, "FP2": 5, "FP1": 6}


def _favourite(f: dict[str, Any] | None) -> dict[str, Any] | None:
    if f is None:
        return None
    return {
        "moment": f["moment"],
        "favourite": f["name"],
        "favourite_driver_id": f["driver_id"],
        "win_probability": round(100 * f["p_win"], 2),
        "model_version": f["model_version"],
    }


async def calendar(conn: AsyncConnection, season: int | None) -> Calendar:
    """Every race of ``season`` (default: the next race's, else the latest)."""
    season = season or await history.default_season(conn)
    await history.check_season(conn, season)
    races = await history.rows(conn, CALENDAR_SQL, season)
    fav = {f["race_id"]: f for f in await history.rows(conn, FAVOURITES_SQL, season)}
    out = [
        CalendarRace(
            **r,
            status="completed" if r["completed"] else "scheduled",
            prediction=_favourite(fav.get(r["race_id"])),
        )
        for r in races
    ]
    return Calendar(season=season, races=out)


async def results(conn: AsyncConnection, race_id: int) -> RaceResults:
    """The classification (and the sprint's) with the weekend's weather; ``NotFound`` for an
    unknown race or one not run yet."""
    info = await history.race(conn, race_id)
    rows = await history.rows(conn, RESULT_SQL.format(table="results"), race_id)
    if not rows:
        raise NotFound(f"race {race_id} ({info['season']} {info['race_name']}) has no results yet")
    sprint = await history.rows(conn, RESULT_SQL.format(table="sprint_results"), race_id)
    weather = await history.rows(conn, WEATHER_SQL, race_id)
    return RaceResults(
        **info,
        status="completed",
        results=[ResultRow(**r) for r in rows],
        sprint_results=[ResultRow(**r) for r in sprint],
        weather=race_weather(weather),
    )


def race_weather(sessions: list[dict[str, Any]]) -> Weather | None:
    """The race's own weather when recorded, else the latest session before it."""
    if not sessions:
        return None
    main = min(sessions, key=lambda s: WEATHER_ORDER.get(s["session"], 9))
    rain = main["rainfall"]
    conditions = None
    if rain is not None:
        conditions = "dry" if rain == 0 else "wet" if rain >= 0.5 else "mixed"
    return Weather(
        temperature=main["air_temp"],
        track_temperature=main["track_temp"],
        conditions=conditions,
        source_session=main["session"],
        sessions=sessions,
    )
