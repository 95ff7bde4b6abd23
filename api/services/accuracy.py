"""How accurate the stored pre-race predictions were: per finished race the scores of the
prediction beside the baseline's, with season means and bootstrap intervals
(``prerace.metrics``), from the F1 history in PostgreSQL."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from psycopg import AsyncConnection

from api.history_models import Accuracy, Interval, RaceAccuracy, Scores
from api.services import history
from api.services.errors import NotFound, Unavailable
from prerace.metrics import CLIP, METRICS, summarize
from schemas.winner import BASELINES

ACCURACY_SQL = """
    SELECT a.*, r.round, r.name AS race_name,
           pw.forename || ' ' || pw.surname AS predicted_name,
           aw.forename || ' ' || aw.surname AS actual_name
    FROM prediction_accuracy a JOIN races r USING (race_id)
    LEFT JOIN drivers pw ON pw.driver_id = a.predicted_winner
    LEFT JOIN drivers aw ON aw.driver_id = a.actual_winner
    WHERE r.season = %s AND a.moment = %s ORDER BY r.round
"""


async def _latest_season(conn: AsyncConnection) -> int:
    """The latest season with accuracy recorded; while an ingest is loading the history and
    none is recorded yet, ``Unavailable`` says so."""
    try:
        latest = await history.rows(
            conn,
            "SELECT max(r.season) AS season FROM prediction_accuracy a "
            "JOIN races r USING (race_id)",
        )
    except Unavailable:
        if await history.loading(conn):
            raise Unavailable(history.LOADING) from None
        raise
    season = latest[0]["season"] if latest else None
    if season is None and await history.loading(conn):
        raise Unavailable(history.LOADING)
    if season is None:
        raise NotFound("no accuracy recorded yet: run `pitwall ingest ergast`")
    return season


def _winner_chance(log_loss: float | None) -> float | None:
    """The chance (percent) given to the winner, from the race's win log-loss (-ln of it;
    chances under ``CLIP`` read as ``CLIP``)."""
    if log_loss is None or not math.isfinite(log_loss):
        return None
    return round(100 * max(CLIP, math.exp(-log_loss)), 2)


def _race_accuracy(r: dict[str, Any]) -> RaceAccuracy:
    return RaceAccuracy(
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
        winner_probability=_winner_chance(r["win_log_loss"]),
        baseline_winner_probability=_winner_chance(r["baseline_win_log_loss"]),
        model=Scores(**{m: r[m] for m in METRICS}),
        baseline=Scores(**{m: r[f"baseline_{m}"] for m in METRICS}),
        recorded_at=r["recorded_at"],
    )


def _season_means(doc: Accuracy, rows: list[dict[str, Any]]) -> None:
    """The season's means and 95% bootstrap intervals onto ``doc``."""
    frame = pd.DataFrame(rows)
    model = summarize(frame[list(METRICS)])
    doc.intervals = {k: Interval(**v) for k, v in model.items()}
    doc.correct_winner_percentage = round(100 * model["top1"]["mean"], 2)
    doc.top_3_accuracy = round(100 * model["top3"]["mean"], 2)
    doc.average_brier_score = model["win_brier"]["mean"]
    doc.average_log_loss = model["win_log_loss"]["mean"]
    base = summarize(frame[[f"baseline_{m}" for m in METRICS]].rename(columns=lambda c: c[9:]))
    doc.baseline_intervals = {k: Interval(**v) for k, v in base.items()}
    doc.baseline_average_brier_score = base["win_brier"]["mean"]
    doc.baseline_average_log_loss = base["win_log_loss"]["mean"]
    doc.baseline_correct_winner_percentage = round(100 * base["top1"]["mean"], 2)
    doc.baseline_top_3_accuracy = round(100 * base["top3"]["mean"], 2)


async def accuracy(conn: AsyncConnection, season: int | None, moment: str) -> Accuracy:
    """The accuracy of the ``moment`` ('pre' or 'post' qualifying) predictions of ``season``
    (default: the latest with accuracy recorded)."""
    if season is None:
        season = await _latest_season(conn)
    await history.check_season(conn, season)
    rows = await history.rows(conn, ACCURACY_SQL, season, moment)
    by_race = [_race_accuracy(r) for r in rows]
    doc = Accuracy(
        season=season,
        moment=moment,
        baseline=rows[-1]["baseline"] if rows else BASELINES[moment],
        races_completed=len(by_race),
        by_race=by_race,
    )
    if rows:
        _season_means(doc, rows)
    return doc
