"""Championship standings after any round (Ergast's, or the points rules' where missing)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from api import history
from api.deps import PG
from api.history_models import StandingRow, Standings

router = APIRouter(prefix="/api/v1/standings", tags=["standings"])


class Kind(StrEnum):
    drivers = "drivers"
    constructors = "constructors"


SQL = {
    Kind.drivers: """
        SELECT s.position, s.points, s.wins, s.driver_id,
               d.forename || ' ' || d.surname AS driver_name, d.code,
               (SELECT c.name FROM results x JOIN constructors c USING (constructor_id)
                JOIN races rr USING (race_id)
                WHERE x.driver_id = s.driver_id AND rr.season = r.season AND rr.round <= r.round
                ORDER BY rr.round DESC LIMIT 1) AS team
        FROM driver_standings s JOIN drivers d USING (driver_id) JOIN races r USING (race_id)
        WHERE s.race_id = %s ORDER BY s.position LIMIT %s OFFSET %s
    """,
    Kind.constructors: """
        SELECT s.position, s.points, s.wins, s.constructor_id, c.name AS team
        FROM constructor_standings s JOIN constructors c USING (constructor_id)
        WHERE s.race_id = %s ORDER BY s.position LIMIT %s OFFSET %s
    """,
}


@router.get(
    "/{kind}",
    response_model=Standings,
    summary="Drivers' or constructors' standings",
    responses={404: {"description": "No standings for that season or round."}},
)
async def standings(
    kind: Kind,
    conn: PG,
    season: Annotated[
        int | None, Query(ge=1950, le=2100, description="Season (default: the latest run).")
    ] = None,
    round: Annotated[
        int | None, Query(ge=1, le=40, description="After this round (default: the latest).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Rows per page.")] = 50,
    offset: Annotated[int, Query(ge=0, le=1000, description="Rows to skip.")] = 0,
) -> Standings:
    """Points, position and wins of every driver (or constructor) after a round."""
    table = "driver_standings" if kind is Kind.drivers else "constructor_standings"
    if season is None:
        latest = await history.rows(
            conn,
            f"SELECT max(r.season) AS season FROM {table} s JOIN races r USING (race_id)",
        )
        season = latest[0]["season"] if latest else None
        if season is None:
            raise HTTPException(404, history.NO_HISTORY)
    await history.check_season(conn, season)
    rounds = await history.rows(
        conn,
        f"SELECT r.round, r.race_id, r.name FROM races r WHERE r.season = %s "
        f"AND EXISTS (SELECT 1 FROM {table} s WHERE s.race_id = r.race_id) ORDER BY r.round",
        season,
    )
    if not rounds:
        raise HTTPException(404, f"no {kind.value} standings for {season} yet")
    if round is None:
        at = rounds[-1]
    else:
        match = [r for r in rounds if r["round"] == round]
        if not match:
            raise HTTPException(
                404,
                f"no {kind.value} standings after round {round} of {season}; rounds with "
                f"standings: {rounds[0]['round']}-{rounds[-1]['round']}",
            )
        at = match[0]
    total = await history.rows(
        conn, f"SELECT count(*) AS n FROM {table} WHERE race_id = %s", at["race_id"]
    )
    rows = await history.rows(conn, SQL[kind], at["race_id"], limit, offset)
    return Standings(
        season=season,
        round=at["round"],
        race_id=at["race_id"],
        race_name=at["name"],
        kind=kind.value,
        total=total[0]["n"],
        standings=[StandingRow(**r) for r in rows],
    )
