"""SQL reads of the F1 history, ratings and pre-race predictions (``pitwall ingest ergast``).

Tables follow ``consumers.db_schema.HISTORY_DDL``. A database without them (nothing
ingested yet) raises ``Unavailable`` saying how to fill it; an id the database does not know,
``NotFound``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from psycopg import AsyncConnection, errors

from api.queries import fetch
from api.services.errors import NotFound, Unavailable
from prerace.loading import LOADING_LOCK, LOADING_SQL
from prerace.payload import PREDICTIONS_SQL, RESULTS_SQL, race_prediction
from schemas.winner import RacePrediction, race_cache_key

NO_HISTORY = "no F1 history in the database yet: run `pitwall ingest ergast`"
LOADING = (
    "the F1 history is being loaded into the database (`pitwall ingest ergast` is running, "
    "as `make demo` starts it in the background); this page fills in once it is done"
)
#: The last race with results, as a CTE.
LAST_RUN = """
    last_run AS (SELECT r.season, r.round FROM races r
                 WHERE EXISTS (SELECT 1 FROM results x WHERE x.race_id = r.race_id)
                 ORDER BY r.season DESC, r.round DESC LIMIT 1)
"""


async def rows(conn: AsyncConnection, sql: str, *params: Any) -> list[dict[str, Any]]:
    """``fetch``, with a missing history table raised as ``Unavailable`` (module doc)."""
    try:
        return await fetch(conn, sql, *params)
    except errors.UndefinedTable:
        raise Unavailable(NO_HISTORY) from None


async def race(conn: AsyncConnection, race_id: int) -> dict[str, Any]:
    """One race with its circuit and whether it has results; ``NotFound`` if unknown."""
    found = await rows(
        conn,
        """
        SELECT r.race_id, r.season, r.round, r.name AS race_name, r.date, r.time,
               r.sprint_date IS NOT NULL AS sprint_weekend, c.name AS circuit,
               c.circuit_ref, c.location, c.country,
               EXISTS (SELECT 1 FROM results x WHERE x.race_id = r.race_id) AS completed
        FROM races r LEFT JOIN circuits c USING (circuit_id)
        WHERE r.race_id = %s
        """,
        race_id,
    )
    if not found:
        raise NotFound(f"race {race_id} is not in the database")
    return found[0]


async def default_season(conn: AsyncConnection) -> int:
    """The season of the next race, else the latest season with results."""
    nxt = await next_race_id(conn)
    if nxt is not None:
        return int((await race(conn, nxt))["season"])
    found = await rows(conn, "SELECT max(season) AS season FROM races")
    if not found or found[0]["season"] is None:
        raise NotFound(NO_HISTORY)
    return int(found[0]["season"])


async def check_season(conn: AsyncConnection, season: int) -> None:
    found = await rows(conn, "SELECT count(*) AS n FROM races WHERE season = %s", season)
    if not found[0]["n"]:
        span = await rows(conn, "SELECT min(season) AS lo, max(season) AS hi FROM races")
        lo, hi = span[0]["lo"], span[0]["hi"]
        where = f"; the database holds {lo}-{hi}" if lo is not None else f"; {NO_HISTORY}"
        raise NotFound(f"no race of season {season} in the database{where}")


async def next_race_id(conn: AsyncConnection) -> int | None:
    """The first race after the last one with results (None when the calendar ends)."""
    found = await rows(
        conn,
        f"""
        WITH {LAST_RUN}
        SELECT race_id FROM races r
        WHERE NOT EXISTS (SELECT 1 FROM results x WHERE x.race_id = r.race_id)
          AND (NOT EXISTS (SELECT 1 FROM last_run)
               OR (r.season, r.round) > (SELECT season, round FROM last_run))
        ORDER BY r.season, r.round LIMIT 1
        """,
    )
    return int(found[0]["race_id"]) if found else None


async def loading(conn: AsyncConnection) -> bool:
    """Whether an ingest is writing the history right now (``prerace.loading``)."""
    found = await fetch(conn, LOADING_SQL, LOADING_LOCK)
    return bool(found and found[0]["loading"])


async def prediction(conn: AsyncConnection, redis: Any, race_id: int) -> RacePrediction | None:
    """A race's served prediction: from Redis, else built from PostgreSQL and cached."""
    if redis is not None:
        cached = await redis.get(race_cache_key(race_id))
        if cached:
            return RacePrediction.model_validate_json(cached)
    info = await race(conn, race_id)
    preds = await rows(conn, PREDICTIONS_SQL, race_id)
    if not preds:
        return None
    ids = sorted({p["driver_id"] for p in preds})
    teams = sorted({p["constructor_id"] for p in preds if p["constructor_id"] is not None})
    drivers = await rows(
        conn,
        "SELECT driver_id, driver_ref, code, forename, surname FROM drivers "
        "WHERE driver_id = ANY(%s)",
        ids,
    )
    constructors = await rows(
        conn, "SELECT constructor_id, name FROM constructors WHERE constructor_id = ANY(%s)", teams
    )
    results = await rows(conn, RESULTS_SQL, race_id)
    doc = race_prediction(
        {**info, "name": info["race_name"]},
        info["circuit"],
        pd.DataFrame(preds),
        pd.DataFrame(drivers),
        pd.DataFrame(constructors),
        completed=bool(info["completed"]),
        results=pd.DataFrame(results, columns=["driver_id", "position"]),
    )
    if redis is not None:
        await redis.set(race_cache_key(race_id), doc.model_dump_json())
    return doc


async def latest_predicted_race(conn: AsyncConnection) -> int | None:
    """The latest race run that has predictions stored (None when none has)."""
    found = await rows(
        conn,
        """
        SELECT r.race_id FROM races r
        WHERE EXISTS (SELECT 1 FROM predictions p WHERE p.race_id = r.race_id)
          AND EXISTS (SELECT 1 FROM results x WHERE x.race_id = r.race_id)
        ORDER BY r.season DESC, r.round DESC LIMIT 1
        """,
    )
    return int(found[0]["race_id"]) if found else None


async def next_race_prediction(conn: AsyncConnection, redis: Any) -> RacePrediction:
    """The prediction of the next race (the first after the last one with results); when
    the calendar has none ahead, or none with predictions yet, the latest race run with
    predictions, beside its result (``notice`` says so). While an ingest is loading the
    history and nothing can be shown yet, ``Unavailable`` says so."""
    try:
        race_id = await next_race_id(conn)
        doc = await prediction(conn, redis, race_id) if race_id is not None else None
        if doc is not None:
            return doc
        latest = await latest_predicted_race(conn)
    except Unavailable:
        if await loading(conn):
            raise Unavailable(LOADING) from None
        raise
    if latest is None:
        if await loading(conn):
            raise Unavailable(LOADING)
        if race_id is None:
            raise NotFound(f"no race in the calendar and no prediction stored yet; {NO_HISTORY}")
        raise NotFound(
            f"no prediction stored for the next race ({race_id}): run `pitwall ingest ergast`"
        )
    shown = await prediction(conn, redis, latest)
    if shown is None:  # deleted between the two reads
        raise NotFound("no prediction stored yet: run `pitwall ingest ergast`")
    why = (
        "No race ahead in the calendar"
        if race_id is None
        else "No prediction for the next race yet"
    )
    return shown.model_copy(
        update={"notice": f"{why}: the latest race with predictions, beside its result."}
    )


async def stored_prediction(conn: AsyncConnection, redis: Any, race_id: int) -> RacePrediction:
    """The prediction stored for a race; ``NotFound`` naming the race when there is none."""
    doc = await prediction(conn, redis, race_id)
    if doc is None:
        info = await race(conn, race_id)
        raise NotFound(
            f"no prediction stored for race {race_id} ({info['season']} {info['race_name']})"
        )
    return doc
