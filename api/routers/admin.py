"""Endpoints that change things, behind the API key (``X-API-Key``): replays and model reload.

A replay publishes a past race to Kafka in a background thread (``replay.publish_timeline``),
exactly as ``simulate_live`` does; its progress is polled at ``GET /admin/replays/{id}``.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Request

from api.deps import SESSION_KEY_RE, Resources
from api.models import ReplayJob, ReplayRequest

log = logging.getLogger(__name__)


def require_api_key(
    request: Request,
    x_api_key: Annotated[str | None, Header(description="The API key (PITWALL_API_KEY).")] = None,
) -> None:
    expected = request.app.state.resources.settings.api_key
    if not x_api_key:
        raise HTTPException(401, "missing X-API-Key header", headers={"WWW-Authenticate": "ApiKey"})
    if not hmac.compare_digest(x_api_key.encode(), expected.encode()):
        raise HTTPException(403, "invalid API key")


router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_api_key)])


@router.post("/replays", response_model=ReplayJob, status_code=202, summary="Start a replay")
async def start_replay(req: ReplayRequest, request: Request) -> ReplayJob:
    """Replay a past race into Kafka in the background (max speed unless ``speed`` is set)."""
    if req.session_key and not SESSION_KEY_RE.match(req.session_key):
        raise HTTPException(422, f"invalid session_key {req.session_key!r}, e.g. 2023-monaco-R")
    res: Resources = request.app.state.resources
    if not res.settings.kafka_bootstrap:
        raise HTTPException(503, "KAFKA_BOOTSTRAP is not configured; cannot publish a replay")
    jobs: dict[str, ReplayJob] = request.app.state.replay_jobs
    job = ReplayJob(id=uuid.uuid4().hex[:12], status="queued", request=req)
    jobs[job.id] = job
    task = asyncio.create_task(asyncio.to_thread(_run_replay, job, res))
    request.app.state.background.add(task)
    task.add_done_callback(request.app.state.background.discard)
    return job


@router.get("/replays/{job_id}", response_model=ReplayJob, summary="Replay progress")
async def replay_status(job_id: str, request: Request) -> ReplayJob:
    job = request.app.state.replay_jobs.get(job_id)
    if job is None:
        raise HTTPException(404, f"no replay job {job_id!r}")
    return job


def _run_replay(job: ReplayJob, res: Resources) -> None:
    from producers.kafka import EventProducer
    from replay.simulate import publish_timeline
    from replay.timeline import build_timeline

    req = job.request
    job.status = "running"
    started = time.monotonic()
    try:
        timeline = build_timeline(req.year, req.event, req.session, settings=res.settings)
        if req.session_key:
            timeline = timeline.with_session_key(req.session_key)
        job.session_key = timeline.session_key
        producer = EventProducer(res.settings.require_kafka)
        try:
            summary = publish_timeline(timeline, producer, speed=req.speed, from_lap=req.from_lap)
        finally:
            producer.close()
        job.published = summary.total
        job.status = "done"
    except Exception as exc:
        log.exception("replay %s failed", job.id)
        job.status = "failed"
        job.error = f"{type(exc).__name__}: {exc}"[:500]
    job.seconds = round(time.monotonic() - started, 2)


@router.post("/models/reload", summary="Reload the race models")
async def reload_models(request: Request) -> dict[str, str]:
    """Load the newest trained artifact from the model directory (or priors)."""
    res: Resources = request.app.state.resources
    models = await res.reload_models()
    return {"model_version": models.version}
