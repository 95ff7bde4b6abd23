"""What the export endpoints download besides a session's stored rows (``api.services.sessions``):
strategy updates flattened one row per driver, a season's results and a race's stored
predictions (from the F1 history), and the encoding of rows as CSV or JSON."""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson
from psycopg import AsyncConnection

from api.queries import LAP_COLUMNS
from api.services import history
from api.services.errors import NotFound

LAP_FIELDS = [c.strip() for c in LAP_COLUMNS.split(",")]
STRATEGY_COLUMNS = [
    "lap", "session_time", "track_status", "trigger", "trigger_driver", "driver", "position",
    "compound", "tyre_age", "stops", "pit_open_lap", "pit_best_lap", "pit_close_lap",
    "recommended_compound", "pit_now", "stay_out", "win_prob", "podium_prob",
    "expected_position", "undercut_threat", "undercut_opportunity", "confidence",
]  # fmt: skip
#: The columns of a strategy update each of its recommendations' rows repeats.
UPDATE_COLUMNS = ("lap", "session_time", "track_status", "trigger", "trigger_driver")
RESULT_COLUMNS = [
    "season", "round", "race_id", "race_name", "date", "position", "position_text",
    "driver_id", "driver_ref", "code", "driver_name", "constructor_id", "team", "grid", "laps",
    "time", "points", "status",
]  # fmt: skip
PREDICTION_COLUMNS = [
    "race_id", "season", "round", "race_name", "moment", "driver_id", "code", "driver_name",
    "team", "grid", "win_probability", "podium_probability", "model_version", "kind",
    "generated_at",
]  # fmt: skip
RESULTS_SQL = """
    SELECT r.season, r.round, r.race_id, r.name AS race_name, r.date, x.position,
           x.position_text, x.driver_id, d.driver_ref, d.code,
           d.forename || ' ' || d.surname AS driver_name, x.constructor_id,
           c.name AS team, x.grid, x.laps, x.time, x.points, s.status
    FROM results x JOIN races r USING (race_id) JOIN drivers d USING (driver_id)
    LEFT JOIN constructors c USING (constructor_id) LEFT JOIN status s USING (status_id)
    WHERE r.season = %s ORDER BY r.round, x.position_order
"""
PREDICTIONS_SQL = """
    SELECT p.race_id, r.season, r.round, r.name AS race_name, p.moment, p.driver_id, d.code,
           d.forename || ' ' || d.surname AS driver_name, c.name AS team, p.grid,
           round((100 * p.p_win)::numeric, 3)::float AS win_probability,
           round((100 * p.p_podium)::numeric, 3)::float AS podium_probability,
           p.model_version, p.kind, p.generated_at
    FROM predictions p JOIN races r USING (race_id) JOIN drivers d USING (driver_id)
    LEFT JOIN constructors c ON c.constructor_id = p.constructor_id
    WHERE p.race_id = %s ORDER BY p.moment, p.p_win DESC
"""


def encode(rows: list[dict[str, Any]], columns: list[str], fmt: str) -> tuple[bytes, str]:
    """(body, media type) of ``rows`` as JSON or as CSV with ``columns``."""
    if fmt == "json":
        return orjson.dumps(rows, option=orjson.OPT_NAIVE_UTC), "application/json"
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode(), "text/csv; charset=utf-8"


def strategy_rows(updates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Strategy updates flattened to one row per update and driver (``STRATEGY_COLUMNS``)."""
    flat = []
    for row in updates:
        recs = row["recommendations"]
        if isinstance(recs, str | bytes):
            recs = orjson.loads(recs)
        for rec in recs or []:
            window = rec.get("pit_window") or {}
            flat.append(
                {
                    **{k: row[k] for k in UPDATE_COLUMNS},
                    **rec,
                    "pit_open_lap": window.get("open_lap"),
                    "pit_best_lap": window.get("best_lap"),
                    "pit_close_lap": window.get("close_lap"),
                }
            )
    return flat


async def season_results(conn: AsyncConnection, season: int) -> list[dict[str, Any]]:
    """Every result of every race of ``season``, one row per driver and race."""
    await history.check_season(conn, season)
    rows = await history.rows(conn, RESULTS_SQL, season)
    if not rows:
        raise NotFound(f"no results of {season} in the database yet")
    return rows


async def race_predictions(conn: AsyncConnection, race_id: int) -> list[dict[str, Any]]:
    """Every stored chance of the race: one row per moment and driver (percentages)."""
    info = await history.race(conn, race_id)
    rows = await history.rows(conn, PREDICTIONS_SQL, race_id)
    if not rows:
        raise NotFound(
            f"no prediction stored for race {race_id} ({info['season']} {info['race_name']})"
        )
    return rows
