"""Replays started over the API: a past race published to Kafka in a background thread
(``replay.publish_timeline``, exactly as ``simulate_live`` does), its progress kept on the app's
``Resources`` for polling."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

from api.models import ReplayJob, ReplayRequest
from api.resources import Resources
from api.services.errors import NotFound, Unavailable
from core.settings import Settings

log = logging.getLogger(__name__)


def start(res: Resources, req: ReplayRequest) -> ReplayJob:
    """Queue the replay and start it in a thread; ``Unavailable`` without a broker."""
    if not res.settings.kafka_bootstrap:
        raise Unavailable("KAFKA_BOOTSTRAP is not configured; cannot publish a replay")
    job = ReplayJob(id=uuid.uuid4().hex[:12], status="queued", request=req)
    res.replay_jobs[job.id] = job
    task = asyncio.create_task(asyncio.to_thread(run, job, res.settings))
    res.background.add(task)
    task.add_done_callback(res.background.discard)
    return job


def job(res: Resources, job_id: str) -> ReplayJob:
    found = res.replay_jobs.get(job_id)
    if found is None:
        raise NotFound(f"no replay job {job_id!r}")
    return found


def run(job: ReplayJob, settings: Settings) -> None:
    """Build the timeline and publish it, recording progress and any failure on ``job``."""
    from producers.kafka import EventProducer
    from replay.simulate import publish_timeline
    from replay.timeline import build_timeline

    req = job.request
    job.status = "running"
    started = time.monotonic()
    try:
        timeline = build_timeline(req.year, req.event, req.session, settings=settings)
        if req.session_key:
            timeline = timeline.with_session_key(req.session_key)
        job.session_key = timeline.session_key
        producer = EventProducer(settings.require_kafka)
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
