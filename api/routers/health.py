"""Liveness (the process answers) and readiness (broker, PostgreSQL and Redis answer)."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from api.deps import Resources, resources
from api.models import Health

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live", response_model=Health, summary="Liveness")
async def live() -> Health:
    """The process is up and serving."""
    return Health(status="ok")


async def _timed(name: str, check) -> tuple[str, dict[str, Any]]:
    started = time.perf_counter()
    try:
        detail = await asyncio.wait_for(check(), 3)
        out = {"ok": True, **(detail or {})}
    except TimeoutError:
        out = {"ok": False, "error": "no answer in 3 s"}
    except Exception as exc:
        out = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    out["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return name, out


def _broker_check(bootstrap: str | None):
    async def check() -> dict[str, Any]:
        if not bootstrap:
            raise RuntimeError("KAFKA_BOOTSTRAP is not set")

        def probe() -> dict[str, Any]:
            from confluent_kafka.admin import AdminClient

            meta = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=2.5)
            return {"topics": len(meta.topics), "brokers": len(meta.brokers)}

        return await asyncio.to_thread(probe)

    return check


def _db_check(res: Resources):
    async def check() -> dict[str, Any]:
        if res.pg is None:
            raise RuntimeError("DATABASE_URL is not set")
        async with res.pg.connection(timeout=2.5) as conn:
            cur = await conn.execute("SELECT count(*) AS n FROM pg_tables WHERE tablename = 'laps'")
            row = await cur.fetchone()
        return {"schema": "migrated" if row and row["n"] else "not migrated"}

    return check


def _redis_check(res: Resources):
    async def check() -> dict[str, Any]:
        if res.redis is None:
            raise RuntimeError("REDIS_URL is not set")
        await res.redis.ping()
        return {}

    return check


@router.get(
    "/ready",
    response_model=Health,
    summary="Readiness",
    responses={503: {"model": Health, "description": "A dependency is down."}},
)
async def ready(response: Response, res: Annotated[Resources, Depends(resources)]) -> Health:
    """Checks the Kafka broker, PostgreSQL and Redis; 503 when any does not answer."""
    results = await asyncio.gather(
        _timed("broker", _broker_check(res.settings.kafka_bootstrap)),
        _timed("database", _db_check(res)),
        _timed("redis", _redis_check(res)),
    )
    checks = dict(results)
    ok = all(c["ok"] for c in checks.values())
    if not ok:
        response.status_code = 503
    return Health(status="ok" if ok else "down", checks=checks)
