"""How accurate the pre-race predictions were, and the drivers' Elo ratings."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import pandas as pd
from fastapi import APIRouter, HTTPException, Query

from api import history
from api.deps import PG
from api.history_models import (
    Accuracy,
    Interval,
    RaceAccuracy,
    RaceSummary,
    Ranking,
    Rankings,
    RatingHistory,
    RatingSeries,
    Scores,
)
from prerace.metrics import METRICS, summarize

router = APIRouter(prefix="/api/v1/analytics", tags=["prediction analytics"])
Season = Annotated[
    int | None, Query(ge=1950, le=2100, description="Season (default: the latest with data).")
]


class Moment(StrEnum):
    pre = "pre"
    post = "post"


class RatingKind(StrEnum):
    driver = "driver"
    constructor = "constructor"


@router.get("/accuracy", response_model=Accuracy, summary="Accuracy of past predictions")
async def accuracy(
    conn: PG,
    season: Season = None,
    moment: Annotated[
        Moment, Query(description="pre: before qualifying; post: after qualifying.")
    ] = Moment.post,
) -> Accuracy:
    """Per finished race: the scores of the stored prediction (win Brier, log-loss, winner
    in top 1, podium Brier, top-3 hit rate) beside the baseline's (the grid-slot rate after
    qualifying, climatology before it), with season means and 95% bootstrap intervals."""
    if season is None:
        latest = await history.rows(
            conn,
            "SELECT max(r.season) AS season FROM prediction_accuracy a "
            "JOIN races r USING (race_id)",
        )
        season = latest[0]["season"] if latest else None
        if season is None:
            raise HTTPException(404, "no accuracy recorded yet: run `pitwall ingest ergast`")
    await history.check_season(conn, season)
    rows = await history.rows(
        conn,
        """
        SELECT a.*, r.round, r.name AS race_name,
               pw.forename || ' ' || pw.surname AS predicted_name,
               aw.forename || ' ' || aw.surname AS actual_name
        FROM prediction_accuracy a JOIN races r USING (race_id)
        LEFT JOIN drivers pw ON pw.driver_id = a.predicted_winner
        LEFT JOIN drivers aw ON aw.driver_id = a.actual_winner
        WHERE r.season = %s AND a.moment = %s ORDER BY r.round
        """,
        season,
        moment.value,
    )
    by_race = [
        RaceAccuracy(
            race_id=r["race_id"],
            round=r["round"],
            race_name=r["race_name"],
            moment=r["moment"],
            kind=r["kind"],
            model_version=r["model_version"],
            predicted_winner=r["predicted_name"],
            actual_winner=r["actual_name"],
            correct_winner=r["top1"] >= 0.5,
            brier_score=r["win_brier"],
            log_loss=r["win_log_loss"],
            baseline_brier_score=r["baseline_win_brier"],
            baseline_log_loss=r["baseline_win_log_loss"],
            model=Scores(**{m: r[m] for m in METRICS}),
            baseline=Scores(**{m: r[f"baseline_{m}"] for m in METRICS}),
            recorded_at=r["recorded_at"],
        )
        for r in rows
    ]
    doc = Accuracy(
        season=season,
        moment=moment.value,
        baseline="grid_slot" if moment is Moment.post else "climatology",
        races_completed=len(by_race),
        by_race=by_race,
    )
    if rows:
        frame = pd.DataFrame(rows)
        model = summarize(frame[list(METRICS)])
        doc.intervals = {k: Interval(**v) for k, v in model.items()}
        doc.correct_winner_percentage = round(100 * model["top1"]["mean"], 2)
        doc.top_3_accuracy = round(100 * model["top3"]["mean"], 2)
        doc.average_brier_score = model["win_brier"]["mean"]
        doc.average_log_loss = model["win_log_loss"]["mean"]
        doc.baseline_average_brier_score = float(frame["baseline_win_brier"].mean())
        doc.baseline_average_log_loss = float(frame["baseline_win_log_loss"].mean())
    return doc


@router.get("/driver-rankings", response_model=Rankings, summary="Drivers by Elo rating")
async def driver_rankings(
    conn: PG,
    season: Season = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Rows per page.")] = 50,
    offset: Annotated[int, Query(ge=0, le=1000, description="Rows to skip.")] = 0,
) -> Rankings:
    """The season's drivers ranked by Elo rating after its last race run, with their
    championship points and position, wins, podiums and starts that season."""
    season = season or await _latest_rated_season(conn)
    await history.check_season(conn, season)
    last = await history.rows(
        conn,
        "SELECT r.race_id, r.round FROM races r WHERE r.season = %s AND EXISTS "
        "(SELECT 1 FROM ratings g WHERE g.race_id = r.race_id) ORDER BY r.round DESC LIMIT 1",
        season,
    )
    if not last:
        raise HTTPException(404, f"no ratings for {season} yet: no race of it has results")
    rows = await history.rows(
        conn,
        """
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
        """,
        season,
        season,
        last[0]["race_id"],
        limit,
        offset,
    )
    total = rows[0]["total"] if rows else 0
    return Rankings(
        season=season,
        after_round=last[0]["round"],
        total=total,
        limit=limit,
        offset=offset,
        rankings=[Ranking(rank=offset + i + 1, **r) for i, r in enumerate(rows)],
    )


@router.get("/rating-history", response_model=RatingHistory, summary="Elo over a season")
async def rating_history(
    conn: PG,
    season: Season = None,
    kind: Annotated[RatingKind, Query(description="driver or constructor")] = RatingKind.driver,
    top: Annotated[int, Query(ge=1, le=30, description="Best-rated at the end to include.")] = 10,
) -> RatingHistory:
    """The rating after each race of the season of the ``top`` best-rated at its end (for a
    line chart): one series per driver or constructor, one value per race (null if absent)."""
    season = season or await _latest_rated_season(conn)
    await history.check_season(conn, season)
    races = await history.rows(
        conn,
        """
        SELECT r.race_id, r.season, r.round, r.name AS race_name, r.date, r.time,
               r.sprint_date IS NOT NULL AS sprint_weekend, c.name AS circuit, c.location,
               c.country
        FROM races r LEFT JOIN circuits c USING (circuit_id)
        WHERE r.season = %s AND EXISTS (SELECT 1 FROM ratings g WHERE g.race_id = r.race_id)
        ORDER BY r.round
        """,
        season,
    )
    if not races:
        raise HTTPException(404, f"no ratings for {season} yet: no race of it has results")
    name_sql = (
        "SELECT driver_id AS id, forename || ' ' || surname AS name, code FROM drivers"
        if kind is RatingKind.driver
        else "SELECT constructor_id AS id, name, NULL AS code FROM constructors"
    )
    ratings = await history.rows(
        conn,
        f"""
        WITH n AS ({name_sql})
        SELECT g.race_id, g.entity_id, g.rating, n.name, n.code
        FROM ratings g JOIN races r USING (race_id) JOIN n ON n.id = g.entity_id
        WHERE r.season = %s AND g.kind = %s
        """,
        season,
        kind.value,
    )
    if not ratings:
        raise HTTPException(404, f"no {kind.value} ratings for {season} yet")
    frame = pd.DataFrame(ratings)
    order = [r["race_id"] for r in races]
    wide = frame.pivot_table(index="entity_id", columns="race_id", values="rating").reindex(
        columns=order
    )
    final = wide.ffill(axis=1).iloc[:, -1].sort_values(ascending=False).head(top)
    names = frame.drop_duplicates("entity_id").set_index("entity_id")
    series = [
        RatingSeries(
            id=int(eid),
            name=str(names.loc[eid, "name"]),
            code=None if pd.isna(names.loc[eid, "code"]) else str(names.loc[eid, "code"]),
            ratings=[None if pd.isna(v) else round(float(v), 1) for v in wide.loc[eid]],
        )
        for eid in final.index
    ]
    return RatingHistory(
        season=season,
        kind=kind.value,
        races=[RaceSummary(**r, status="completed") for r in races],
        series=series,
    )


async def _latest_rated_season(conn: PG) -> int:
    found = await history.rows(
        conn, "SELECT max(r.season) AS season FROM ratings g JOIN races r USING (race_id)"
    )
    if not found or found[0]["season"] is None:
        raise HTTPException(404, "no ratings yet: run `pitwall ingest ergast`")
    return int(found[0]["season"])
