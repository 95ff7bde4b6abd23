"""The calendar of a season and the results of a race (with the weekend's weather)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from api import history
from api.deps import PG
from api.history_models import Calendar, CalendarRace, RaceResults, ResultRow, Weather
from api.routers.race_predictions import RaceId

router = APIRouter(prefix="/api/v1/races", tags=["races"])
Season = Annotated[
    int | None,
    Query(ge=1950, le=2100, description="Season (default: the next race's, else the latest)."),
]


@router.get("/calendar", response_model=Calendar, summary="A season's calendar")
async def calendar(conn: PG, season: Season = None) -> Calendar:
    """Every race of the season with its date, circuit, whether it is a sprint weekend, the
    winner once run, and a summary of the latest stored prediction (the favourite)."""
    season = season or await history.default_season(conn)
    await history.check_season(conn, season)
    races = await history.rows(
        conn,
        """
        SELECT r.race_id, r.season, r.round, r.name AS race_name, r.date, r.time,
               r.sprint_date IS NOT NULL AS sprint_weekend, c.name AS circuit, c.location,
               c.country,
               (SELECT d.forename || ' ' || d.surname
                FROM results x JOIN drivers d USING (driver_id)
                WHERE x.race_id = r.race_id AND x.position = 1 LIMIT 1) AS winner,
               EXISTS (SELECT 1 FROM results x WHERE x.race_id = r.race_id) AS completed
        FROM races r LEFT JOIN circuits c USING (circuit_id)
        WHERE r.season = %s ORDER BY r.round
        """,
        season,
    )
    favourites = await history.rows(
        conn,
        """
        SELECT DISTINCT ON (p.race_id) p.race_id, p.moment, p.driver_id, p.p_win,
               p.model_version, d.forename || ' ' || d.surname AS name
        FROM predictions p JOIN races r USING (race_id) JOIN drivers d USING (driver_id)
        WHERE r.season = %s
        ORDER BY p.race_id, (p.moment = 'post') DESC, p.p_win DESC
        """,
        season,
    )
    fav = {f["race_id"]: f for f in favourites}
    out = []
    for r in races:
        f = fav.get(r["race_id"])
        out.append(
            CalendarRace(
                **r,
                status="completed" if r["completed"] else "scheduled",
                prediction=None
                if f is None
                else {
                    "moment": f["moment"],
                    "favourite": f["name"],
                    "favourite_driver_id": f["driver_id"],
                    "win_probability": round(100 * f["p_win"], 2),
                    "model_version": f["model_version"],
                },
            )
        )
    return Calendar(season=season, races=out)


RESULT_SQL = """
    SELECT x.position, x.position_text, x.driver_id, d.forename || ' ' || d.surname AS driver_name,
           d.code, c.name AS team, x.grid, x.laps, x.time, x.points, s.status,
           x.rank AS fastest_lap_rank
    FROM {table} x JOIN drivers d USING (driver_id)
    LEFT JOIN constructors c USING (constructor_id) LEFT JOIN status s USING (status_id)
    WHERE x.race_id = %s ORDER BY x.position_order
"""


@router.get(
    "/{race_id}/results",
    response_model=RaceResults,
    summary="A race's results and weather",
    responses={404: {"description": "Unknown race, or a race not run yet."}},
)
async def results(race_id: RaceId, conn: PG) -> RaceResults:
    """The classification (and the sprint's on sprint weekends) with the weekend's weather
    from the FastF1 sessions where the data has it (``weather`` null otherwise)."""
    info = await history.race(conn, race_id)
    rows = await history.rows(conn, RESULT_SQL.format(table="results"), race_id)
    if not rows:
        raise HTTPException(
            404, f"race {race_id} ({info['season']} {info['race_name']}) has no results yet"
        )
    sprint = await history.rows(conn, RESULT_SQL.format(table="sprint_results"), race_id)
    weather = await history.rows(
        conn,
        "SELECT session, air_temp, track_temp, humidity, pressure, wind_speed, rainfall, samples "
        "FROM race_weather WHERE race_id = %s ORDER BY session",
        race_id,
    )
    return RaceResults(
        **info,
        status="completed",
        results=[ResultRow(**r) for r in rows],
        sprint_results=[ResultRow(**r) for r in sprint],
        weather=_weather(weather),
    )


def _weather(sessions: list[dict]) -> Weather | None:
    """The race's own weather when recorded, else the latest session before it."""
    if not sessions:
        return None
    order = {"R": 0, "S": 1, "Q": 2, "SQ": 3, "FP3": 4, "FP2": 5, "FP1": 6}
    main = min(sessions, key=lambda s: order.get(s["session"], 9))
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
