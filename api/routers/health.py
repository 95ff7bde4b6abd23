"""Liveness (the process answers) and readiness (broker, PostgreSQL and Redis answer)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import Res
from api.models import Health
from api.services import health

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live", response_model=Health, summary="Liveness")
async def live() -> Health:
    """The process is up and serving."""
    return Health(status="ok")


@router.get(
    "/ready",
    response_model=Health,
    summary="Readiness",
    responses={503: {"model": Health, "description": "A dependency is down."}},
)
async def ready(response: Response, res: Res) -> Health:
    """Checks the Kafka broker, PostgreSQL and Redis; 503 when any does not answer."""
    checks = await health.checks(res)
    ok = all(c["ok"] for c in checks.values())
    if not ok:
        response.status_code = 503
    return Health(status="ok" if ok else "down", checks=checks)
