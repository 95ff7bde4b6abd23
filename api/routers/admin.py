"""Endpoints that change things, for admins: replays and model reload.

An admin is an admin user's access token, an admin API key, or the shared ``X-API-Key``
(``PITWALL_API_KEY``); see :mod:`api.auth.deps`. Each action is in the audit log.

A replay publishes a past race to Kafka in a background thread (``replay.publish_timeline``),
exactly as ``simulate_live`` does; its progress is polled at ``GET /admin/replays/{id}``.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request

from api.auth.deps import Admin, audit
from api.deps import SESSION_KEY_RE, Resources
from api.models import ReplayJob, ReplayRequest

log = logging.getLogger(__name__)


router = APIRouter(prefix="/admin", tags=["admin"])


@router.post("/replays", response_model=ReplayJob, status_code=202, summary="Start a replay")
async def start_replay(req: ReplayRequest, request: Request, admin: Admin) -> ReplayJob:
    """Replay a past race into Kafka in the background (max speed unless ``speed`` is set)."""
    if req.session_key and not SESSION_KEY_RE.match(req.session_key):
        raise HTTPException(422, f"invalid session_key {req.session_key!r}, e.g. 2023-monaco-R")
    res: Resources = request.app.state.resources
    await audit(
        request, "admin.replay", "ok", actor=admin.actor, subject=req.session_key,
        detail=req.model_dump(mode="json"),
    )  # fmt: skip
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
async def replay_status(
    job_id: Annotated[str, Path(pattern=r"^[0-9a-f]{12}$", description="The job's id.")],
    request: Request,
    admin: Admin,
) -> ReplayJob:
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
async def reload_models(request: Request, admin: Admin) -> dict[str, str]:
    """Load the newest trained artifact from the model directory (or priors)."""
    res: Resources = request.app.state.resources
    models = await res.reload_models()
    await audit(
        request, "admin.models_reload", "ok", actor=admin.actor,
        detail={"model_version": models.version},
    )  # fmt: skip
    return {"model_version": models.version}
