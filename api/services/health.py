"""Readiness checks: whether the Kafka broker, PostgreSQL and Redis answer (each within 3 s,
with how long it took and what went wrong)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from api.resources import Resources

TIMEOUT_S = 3

Check = Callable[[], Awaitable[dict[str, Any] | None]]


async def _timed(name: str, check: Check) -> tuple[str, dict[str, Any]]:
    started = time.perf_counter()
    try:
        detail = await asyncio.wait_for(check(), TIMEOUT_S)
        out = {"ok": True, **(detail or {})}
    except TimeoutError:
        out = {"ok": False, "error": f"no answer in {TIMEOUT_S} s"}
    except Exception as exc:
        out = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    out["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return name, out


def _broker_check(bootstrap: str | None) -> Check:
    async def check() -> dict[str, Any]:
        if not bootstrap:
            raise RuntimeError("KAFKA_BOOTSTRAP is not set")

        def probe() -> dict[str, Any]:
            from confluent_kafka.admin import AdminClient

            meta = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=2.5)
            return {"topics": len(meta.topics), "brokers": len(meta.brokers)}

        return await asyncio.to_thread(probe)

    return check


def _db_check(res: Resources) -> Check:
    async def check() -> dict[str, Any]:
        if res.pg is None:
            raise RuntimeError("DATABASE_URL is not set")
        async with res.pg.connection(timeout=2.5) as conn:
            cur = await conn.execute("SELECT count(*) AS n FROM pg_tables WHERE tablename = 'laps'")
            row = await cur.fetchone()
        return {"schema": "migrated" if row and row["n"] else "not migrated"}

    return check


def _redis_check(res: Resources) -> Check:
    async def check() -> dict[str, Any]:
        if res.redis is None:
            raise RuntimeError("REDIS_URL is not set")
        await res.redis.ping()
        return {}

    return check


async def checks(res: Resources) -> dict[str, dict[str, Any]]:
    """Each dependency's check (``ok``, ``ms``, and ``error`` or details), run at once."""
    results = await asyncio.gather(
        _timed("broker", _broker_check(res.settings.kafka_bootstrap)),
        _timed("database", _db_check(res)),
        _timed("redis", _redis_check(res)),
    )
    return dict(results)
