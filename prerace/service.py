"""The winner-prediction product's use cases, as ``pitwall ingest`` and ``pitwall predict``
run them: the stored history, an ingest and the update it triggers, the update with its
Redis cache, and the next race's chances.

Settings arrive as parameters (URLs); progress goes to a ``say`` callback. Errors a user
can act on are :class:`NoHistoryError` (nothing ingested yet) and the sources' own
(``ErgastSourceError``, ``JolpicaError``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import psycopg

from prerace.history import History
from prerace.ingest.store import LoadReport
from prerace.refresh import RefreshReport

Say = Callable[[str], None]
NO_HISTORY = "no history in the database yet: run `pitwall ingest ergast`"


class NoHistoryError(RuntimeError):
    """The database holds no history (or no results) to learn from yet."""


# -- the history ---------------------------------------------------------------------------
def stored_history(database_url: str) -> History:
    """The whole history stored in PostgreSQL; NoHistoryError when it holds no results."""
    from prerace.ingest.store import read_history

    with psycopg.connect(database_url, autocommit=True) as conn:
        try:
            history = read_history(conn)
        except psycopg.errors.UndefinedTable:
            raise NoHistoryError(NO_HISTORY) from None
    if history.results.empty:
        raise NoHistoryError("no results in the database yet: run `pitwall ingest ergast`")
    return history


def read_online(base_url: str, years: list[int], pit_stops: bool, say: Say) -> dict[str, Any]:
    """The seasons ``years`` from the Jolpica API as Ergast-shaped tables (JolpicaError when
    it cannot be read); ``pit_stops`` costs one request per race."""
    from prerace.ingest.jolpica import JolpicaClient, fetch_season

    merged: dict[str, list[pd.DataFrame]] = {}
    with JolpicaClient(base_url) as client:
        for year in years:
            for name, frame in fetch_season(client, year, pit_stops, say).items():
                merged.setdefault(name, []).append(frame)
    return {name: pd.concat(frames, ignore_index=True) for name, frames in merged.items()}


# -- ingest and update ---------------------------------------------------------------------
@dataclass
class IngestResult:
    """What an ingest wrote, and the update it ran (None: nothing to update, or not asked)."""

    report: LoadReport
    weather_rows: int
    refreshed: RefreshReport | None


def ingest(
    database_url: str,
    tables: dict[str, pd.DataFrame],
    *,
    weather: Callable[[], pd.DataFrame | None] | None = None,
    update: bool = True,
    redis_url: str | None = None,
    backfill: list[int] | None = None,
    say: Say,
) -> IngestResult:
    """Write ``tables`` (idempotently), then each weekend's weather (``weather`` reads it,
    season and race date per row; None when there is none), then, when ``update`` and the
    ingest changed anything (or no next-race prediction is stored), run the update."""
    from prerace.ingest.store import ensure_schema, load_tables

    with psycopg.connect(database_url, autocommit=True) as conn:
        ensure_schema(conn)
        report = load_tables(conn, tables)
        frame = weather() if weather is not None else None
        weather_rows = store_weather(conn, frame) if frame is not None else 0
        changed = report.total_added + report.total_changed
        refreshed = None
        if update and (changed or not _has_next_prediction(conn)):
            refreshed = refresh_cached(
                conn, redis_url, report.races_with_new_results, backfill, say
            )
    return IngestResult(report, weather_rows, refreshed)


def store_weather(conn: psycopg.Connection, frame: pd.DataFrame) -> int:
    """Attach weekend weather rows (season, race date) to their races and store them; the
    rows added or changed."""
    from prerace.ingest.store import race_ids_by_date, upsert

    ids = race_ids_by_date(conn)
    keys = zip(frame["season"], frame["race_date"], strict=True)
    frame["race_id"] = [ids.get(k) for k in keys]
    frame = frame[frame["race_id"].notna()]
    added, changed = upsert(conn, "race_weather", frame)
    return added + changed


def _has_next_prediction(conn: psycopg.Connection) -> bool:
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM predictions p JOIN races r USING (race_id) "
        "WHERE NOT EXISTS (SELECT 1 FROM results x WHERE x.race_id = r.race_id))"
    ).fetchone()
    return bool(row and row[0])


def refresh_cached(
    conn: psycopg.Connection,
    redis_url: str | None,
    changed: set[int] | None,
    backfill: list[int] | None,
    say: Say,
) -> RefreshReport:
    """The update (``prerace.refresh``), caching predictions in Redis when ``redis_url``."""
    from prerace.refresh import refresh

    redis_client = None
    if redis_url:
        import redis

        redis_client = redis.Redis.from_url(redis_url)
    try:
        return refresh(
            conn, redis_client, changed_races=changed, backfill_seasons=backfill, progress=say
        )
    finally:
        if redis_client is not None:
            redis_client.close()


def run_refresh(
    database_url: str, redis_url: str | None, backfill: list[int] | None, say: Say
) -> RefreshReport:
    """The update by hand, on the stored history; NoHistoryError before any ingest."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        try:
            return refresh_cached(conn, redis_url, None, backfill, say)
        except psycopg.errors.UndefinedTable:
            raise NoHistoryError(NO_HISTORY) from None


# -- the next race -------------------------------------------------------------------------
def display_names(history: History) -> dict[str, dict[int, str]]:
    """Driver codes (``drivers``: the code, else the surname's first three letters) and race
    names (``races``) by id."""
    d = history.drivers
    codes = {}
    if d is not None:
        for r in d.itertuples(index=False):
            code = r.code if isinstance(r.code, str) else str(r.surname)[:3].upper()
            codes[int(r.driver_id)] = code
    races = history.races.set_index("race_id")["name"].to_dict()
    return {"drivers": codes, "races": races}


def next_race_chances(history: History, top: int) -> dict[str, Any] | None:
    """Win and podium chances of the ``top`` drivers for the next race (the first without
    results), from models trained on every finished race: before qualifying (``pre``) and,
    once its grid is known, after it (``post``). None when the calendar has no next race."""
    from prerace.features import build_features
    from prerace.model import ModelConfig, WinnerModel

    nxt = history.next_race()
    if nxt is None:
        return None
    table = build_features(history).rows
    these = table[table["race_id"] == int(nxt["race_id"])]
    done = table[table["win"].notna()]
    codes = display_names(history)["drivers"]
    doc = {"race_id": int(nxt["race_id"]), "season": int(nxt["season"]), "round": int(nxt["round"])}
    doc["race_name"] = str(nxt["name"])
    for m in ("pre", "post"):
        if m == "post" and not bool(these["grid_known"].iloc[0]):
            continue
        model = WinnerModel(ModelConfig(moment=m)).fit(done)
        p = model.predict(these).merge(these[["driver_id", "grid"]], on="driver_id")
        p = p.sort_values("p_win", ascending=False).head(top)
        doc[m] = {
            "model_version": model.version,
            "predictions": [
                {
                    "driver_id": int(r.driver_id),
                    "code": codes.get(int(r.driver_id)),
                    "grid": None if math.isnan(r.grid) else int(r.grid),
                    "win_probability": round(100 * r.p_win, 2),
                    "podium_probability": round(100 * r.p_podium, 2),
                }
                for r in p.itertuples(index=False)
            ],
        }
    return doc
