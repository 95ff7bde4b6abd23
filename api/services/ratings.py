"""The Elo ratings of drivers and constructors: the season's drivers ranked after its last race
run, and the ratings race by race of the best-rated (from the F1 history in PostgreSQL)."""

from __future__ import annotations

import pandas as pd
from psycopg import AsyncConnection

from api.history_models import RaceSummary, Ranking, Rankings, RatingHistory, RatingSeries
from api.services import history
from api.services.errors import NotFound

LAST_RATED_SQL = (
    "SELECT r.race_id, r.round FROM races r WHERE r.season = %s AND EXISTS "
    "(SELECT 1 FROM ratings g WHERE g.race_id = r.race_id) ORDER BY r.round DESC LIMIT 1"
)
RANKINGS_SQL = """
    WITH season_results AS (
        SELECT x.* FROM results x JOIN races r USING (race_id) WHERE r.season = %s
    ), stats AS (
        SELECT driver_id, count(*) AS starts, count(*) FILTER (WHERE position = 1) AS wins,
               count(*) FILTER (WHERE position <= 3) AS podiums
        FROM season_results GROUP BY driver_id
    ), latest_rating AS (
        SELECT DISTINCT ON (g.entity_id) g.entity_id AS driver_id, g.rating
        FROM ratings g JOIN races r USING (race_id)
        WHERE g.kind = 'driver' AND r.season = %s
        ORDER BY g.entity_id, r.round DESC
    )
    SELECT st.driver_id, d.forename || ' ' || d.surname AS driver_name, d.code,
           lr.rating AS elo_rating, coalesce(ds.points, 0) AS championship_points,
           ds.position AS championship_position, st.wins, st.podiums, st.starts,
           (SELECT c.name FROM season_results x JOIN constructors c USING (constructor_id)
            JOIN races r USING (race_id) WHERE x.driver_id = st.driver_id
            ORDER BY r.round DESC LIMIT 1) AS team,
           count(*) OVER () AS total
    FROM stats st JOIN drivers d USING (driver_id)
    JOIN latest_rating lr USING (driver_id)
    LEFT JOIN driver_standings ds ON ds.driver_id = st.driver_id AND ds.race_id = %s
    ORDER BY lr.rating DESC LIMIT %s OFFSET %s
"""
RATED_RACES_SQL = """
    SELECT r.race_id, r.season, r.round, r.name AS race_name, r.date, r.time,
           r.sprint_date IS NOT NULL AS sprint_weekend, c.name AS circuit, c.location,
           c.country
    FROM races r LEFT JOIN circuits c USING (circuit_id)
    WHERE r.season = %s AND EXISTS (SELECT 1 FROM ratings g WHERE g.race_id = r.race_id)
    ORDER BY r.round
"""
NAMES_SQL = {
    "driver": "SELECT driver_id AS id, forename || ' ' || surname AS name, code FROM drivers",
    "constructor": "SELECT constructor_id AS id, name, NULL AS code FROM constructors",
}
RATINGS_SQL = """
    WITH n AS ({names})
    SELECT g.race_id, g.entity_id, g.rating, n.name, n.code
    FROM ratings g JOIN races r USING (race_id) JOIN n ON n.id = g.entity_id
    WHERE r.season = %s AND g.kind = %s
"""


async def latest_rated_season(conn: AsyncConnection) -> int:
    found = await history.rows(
        conn, "SELECT max(r.season) AS season FROM ratings g JOIN races r USING (race_id)"
    )
    if not found or found[0]["season"] is None:
        raise NotFound("no ratings yet: run `pitwall ingest ergast`")
    return int(found[0]["season"])


async def driver_rankings(
    conn: AsyncConnection, season: int | None, limit: int, offset: int
) -> Rankings:
    """A page of ``season``'s drivers (default: the latest rated) by Elo rating after its
    last race run, with their championship points and position, wins, podiums and starts."""
    season = season or await latest_rated_season(conn)
    await history.check_season(conn, season)
    last = await history.rows(conn, LAST_RATED_SQL, season)
    if not last:
        raise NotFound(f"no ratings for {season} yet: no race of it has results")
    rows = await history.rows(conn, RANKINGS_SQL, season, season, last[0]["race_id"], limit, offset)
    return Rankings(
        season=season,
        after_round=last[0]["round"],
        total=rows[0]["total"] if rows else 0,
        limit=limit,
        offset=offset,
        rankings=[Ranking(rank=offset + i + 1, **r) for i, r in enumerate(rows)],
    )


def _series(frame: pd.DataFrame, order: list[int], top: int) -> list[RatingSeries]:
    """One series per entity of the ``top`` best-rated at the end, a rating per race of
    ``order`` (None where absent)."""
    wide = frame.pivot_table(index="entity_id", columns="race_id", values="rating").reindex(
        columns=order
    )
    final = wide.ffill(axis=1).iloc[:, -1].sort_values(ascending=False).head(top)
    names = frame.drop_duplicates("entity_id").set_index("entity_id")
    return [
        RatingSeries(
            id=int(eid),
            name=str(names.loc[eid, "name"]),
            code=None if pd.isna(names.loc[eid, "code"]) else str(names.loc[eid, "code"]),
            ratings=[None if pd.isna(v) else round(float(v), 1) for v in wide.loc[eid]],
        )
        for eid in final.index
    ]


async def rating_history(
    conn: AsyncConnection, season: int | None, kind: str, top: int
) -> RatingHistory:
    """The rating after each race of ``season`` of the ``top`` best-rated ``kind`` ('driver'
    or 'constructor') at its end."""
    season = season or await latest_rated_season(conn)
    await history.check_season(conn, season)
    races = await history.rows(conn, RATED_RACES_SQL, season)
    if not races:
        raise NotFound(f"no ratings for {season} yet: no race of it has results")
    ratings = await history.rows(conn, RATINGS_SQL.format(names=NAMES_SQL[kind]), season, kind)
    if not ratings:
        raise NotFound(f"no {kind} ratings for {season} yet")
    order = [r["race_id"] for r in races]
    return RatingHistory(
        season=season,
        kind=kind,
        races=[RaceSummary(**r, status="completed") for r in races],
        series=_series(pd.DataFrame(ratings), order, top),
    )
