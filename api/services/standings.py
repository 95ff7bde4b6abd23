"""Championship standings after any round of a season, from the F1 history in PostgreSQL
(Ergast's, or the points rules' where Ergast has none)."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from api.history_models import StandingRow, Standings
from api.services import history
from api.services.errors import NotFound

TABLE = {"drivers": "driver_standings", "constructors": "constructor_standings"}
SQL = {
    "drivers": """
        SELECT s.position, s.points, s.wins, s.driver_id,
               d.forename || ' ' || d.surname AS driver_name, d.code,
               (SELECT c.name FROM results x JOIN constructors c USING (constructor_id)
                JOIN races rr USING (race_id)
                WHERE x.driver_id = s.driver_id AND rr.season = r.season AND rr.round <= r.round
                ORDER BY rr.round DESC LIMIT 1) AS team
        FROM driver_standings s JOIN drivers d USING (driver_id) JOIN races r USING (race_id)
        WHERE s.race_id = %s ORDER BY s.position LIMIT %s OFFSET %s
    """,
    "constructors": """
        SELECT s.position, s.points, s.wins, s.constructor_id, c.name AS team
        FROM constructor_standings s JOIN constructors c USING (constructor_id)
        WHERE s.race_id = %s ORDER BY s.position LIMIT %s OFFSET %s
    """,
}


async def _latest_season(conn: AsyncConnection, table: str) -> int:
    latest = await history.rows(
        conn, f"SELECT max(r.season) AS season FROM {table} s JOIN races r USING (race_id)"
    )
    season = latest[0]["season"] if latest else None
    if season is None:
        raise NotFound(history.NO_HISTORY)
    return season


async def _after_round(
    conn: AsyncConnection, kind: str, season: int, round: int | None
) -> dict[str, Any]:
    """The race (round, race_id, name) after which to read the standings: ``round``, or the
    latest with standings."""
    table = TABLE[kind]
    rounds = await history.rows(
        conn,
        f"SELECT r.round, r.race_id, r.name FROM races r WHERE r.season = %s "
        f"AND EXISTS (SELECT 1 FROM {table} s WHERE s.race_id = r.race_id) ORDER BY r.round",
        season,
    )
    if not rounds:
        raise NotFound(f"no {kind} standings for {season} yet")
    if round is None:
        return rounds[-1]
    match = [r for r in rounds if r["round"] == round]
    if not match:
        raise NotFound(
            f"no {kind} standings after round {round} of {season}; rounds with "
            f"standings: {rounds[0]['round']}-{rounds[-1]['round']}"
        )
    return match[0]


async def standings(
    conn: AsyncConnection,
    kind: str,
    season: int | None,
    round: int | None,
    limit: int,
    offset: int,
) -> Standings:
    """A page of the ``kind`` ('drivers' or 'constructors') standings after ``round`` of
    ``season`` (default: the latest season and round with standings)."""
    table = TABLE[kind]
    if season is None:
        season = await _latest_season(conn, table)
    await history.check_season(conn, season)
    at = await _after_round(conn, kind, season, round)
    total = await history.rows(
        conn, f"SELECT count(*) AS n FROM {table} WHERE race_id = %s", at["race_id"]
    )
    rows = await history.rows(conn, SQL[kind], at["race_id"], limit, offset)
    return Standings(
        season=season,
        round=at["round"],
        race_id=at["race_id"],
        race_name=at["name"],
        kind=kind,
        total=total[0]["n"],
        standings=[StandingRow(**r) for r in rows],
    )
