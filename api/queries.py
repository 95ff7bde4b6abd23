"""SQL reads of the tables the PostgreSQL sink (``consumers/``) writes.

Tables and columns follow the serving contract: one table per topic, ``session_key``,
``session_time``, ``time``, ``produced_at`` and the event's fields under the same names, lists
and nested models as ``jsonb``.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

LAP_COLUMNS = (
    "driver, lap_number, lap_time, sector1, sector2, sector3, compound, tyre_life, stint, "
    "pit_in, pit_out, position, track_status, session_time"
)


async def fetch(conn: AsyncConnection, sql: str, *params: Any) -> list[dict[str, Any]]:
    async with conn.cursor() as cur:
        await cur.execute(sql, params)
        return list(await cur.fetchall())


async def stored_sessions(conn: AsyncConnection) -> list[dict[str, Any]]:
    """Every session with an info event, with its latest status/lap count and laps stored."""
    return await fetch(
        conn,
        """
        WITH info AS (
            SELECT DISTINCT ON (session_key) session_key, year, event_name, session_name,
                   circuit, country, total_laps, drivers
            FROM session_events WHERE kind = 'info'
            ORDER BY session_key, session_time DESC
        ), status AS (
            SELECT DISTINCT ON (session_key) session_key, status
            FROM session_events WHERE kind = 'status'
            ORDER BY session_key, session_time DESC
        ), lapc AS (
            SELECT DISTINCT ON (session_key) session_key, current_lap
            FROM session_events WHERE kind = 'lap_count' AND current_lap IS NOT NULL
            ORDER BY session_key, session_time DESC
        ), laps_n AS (
            SELECT session_key, count(*) AS laps_stored, max(time) AS updated_at
            FROM laps GROUP BY session_key
        )
        SELECT info.*, status.status, lapc.current_lap, laps_n.laps_stored, laps_n.updated_at
        FROM info
        LEFT JOIN status USING (session_key)
        LEFT JOIN lapc USING (session_key)
        LEFT JOIN laps_n USING (session_key)
        ORDER BY info.year DESC NULLS LAST, info.session_key
        """,
    )


async def stored_session(conn: AsyncConnection, session_key: str) -> dict[str, Any] | None:
    rows = await stored_sessions_for(conn, session_key)
    return rows[0] if rows else None


async def stored_sessions_for(conn: AsyncConnection, session_key: str) -> list[dict[str, Any]]:
    return await fetch(
        conn,
        """
        SELECT i.session_key, i.year, i.event_name, i.session_name, i.circuit, i.country,
               i.total_laps, i.drivers,
               (SELECT status FROM session_events s WHERE s.session_key = i.session_key
                  AND s.kind = 'status' ORDER BY s.session_time DESC LIMIT 1) AS status,
               (SELECT current_lap FROM session_events s WHERE s.session_key = i.session_key
                  AND s.kind = 'lap_count' AND s.current_lap IS NOT NULL
                  ORDER BY s.session_time DESC LIMIT 1) AS current_lap,
               (SELECT count(*) FROM laps l WHERE l.session_key = i.session_key) AS laps_stored,
               (SELECT max(time) FROM laps l WHERE l.session_key = i.session_key) AS updated_at
        FROM session_events i
        WHERE i.session_key = %s AND i.kind = 'info'
        ORDER BY i.session_time DESC LIMIT 1
        """,
        session_key,
    )


async def session_exists(conn: AsyncConnection, session_key: str) -> bool:
    rows = await fetch(
        conn,
        "SELECT EXISTS (SELECT 1 FROM session_events WHERE session_key = %s) "
        "OR EXISTS (SELECT 1 FROM laps WHERE session_key = %s) AS found",
        session_key,
        session_key,
    )
    return bool(rows and rows[0]["found"])


async def laps(
    conn: AsyncConnection,
    session_key: str,
    driver: str | None = None,
    from_lap: int | None = None,
    to_lap: int | None = None,
) -> list[dict[str, Any]]:
    where, params = ["session_key = %s"], [session_key]
    if driver:
        where.append("driver = %s")
        params.append(driver)
    if from_lap is not None:
        where.append("lap_number >= %s")
        params.append(from_lap)
    if to_lap is not None:
        where.append("lap_number <= %s")
        params.append(to_lap)
    return await fetch(
        conn,
        f"SELECT {LAP_COLUMNS} FROM laps WHERE {' AND '.join(where)} "
        "ORDER BY lap_number, position NULLS LAST, driver",
        *params,
    )


async def stints(
    conn: AsyncConnection, session_key: str, driver: str | None = None
) -> list[dict[str, Any]]:
    sql = (
        "SELECT driver, stint, compound, new, tyre_age_at_start, lap_number, session_time "
        "FROM stints WHERE session_key = %s"
    )
    params: list[Any] = [session_key]
    if driver:
        sql += " AND driver = %s"
        params.append(driver)
    return await fetch(conn, sql + " ORDER BY driver, stint, session_time", *params)


async def track_status(conn: AsyncConnection, session_key: str) -> list[dict[str, Any]]:
    return await fetch(
        conn,
        "SELECT session_time, status, state, message, time FROM track_status "
        "WHERE session_key = %s ORDER BY session_time",
        session_key,
    )


async def strategy(
    conn: AsyncConnection,
    session_key: str,
    from_lap: int | None = None,
    to_lap: int | None = None,
    latest_only: bool = False,
) -> list[dict[str, Any]]:
    where, params = ["session_key = %s"], [session_key]
    if from_lap is not None:
        where.append("lap >= %s")
        params.append(from_lap)
    if to_lap is not None:
        where.append("lap <= %s")
        params.append(to_lap)
    order = "session_time DESC, lap DESC LIMIT 1" if latest_only else "session_time, lap"
    return await fetch(
        conn,
        "SELECT lap, session_time, track_status, trigger, trigger_driver, n_sims, compute_ms, "
        f"recommendations FROM strategy WHERE {' AND '.join(where)} ORDER BY {order}",
        *params,
    )


async def analysis_laps(conn: AsyncConnection, session_key: str) -> list[dict[str, Any]]:
    """Every stored lap of a session with what the analytics read (``services.session_laps``)."""
    return await fetch(
        conn,
        "SELECT driver, driver_number, team, lap_number, lap_time, sector1, sector2, sector3, "
        "compound, tyre_life, fresh_tyre, stint, pit_in, pit_out, position, track_status, "
        "is_accurate, deleted, speed_trap, session_time FROM laps WHERE session_key = %s "
        "ORDER BY driver, lap_number",
        session_key,
    )


async def total_laps(conn: AsyncConnection, session_key: str) -> int | None:
    """The race distance in laps the session's info or lap count last gave."""
    rows = await fetch(
        conn,
        "SELECT total_laps FROM session_events WHERE session_key = %s AND total_laps IS NOT NULL "
        "ORDER BY session_time DESC LIMIT 1",
        session_key,
    )
    return int(rows[0]["total_laps"]) if rows else None
