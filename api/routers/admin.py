"""Endpoints that change things, for admins: replays and model reload.

An admin is an admin user's access token, an admin API key, or the shared ``X-API-Key``
(``PITWALL_API_KEY``); see :mod:`api.auth.deps`. Each action is in the audit log.

A replay publishes a past race to Kafka in the background (``api.services.replays``); its
progress is polled at ``GET /admin/replays/{id}``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request

from api.auth.deps import Admin, audit
from api.deps import SESSION_KEY_RE, Res
from api.models import ReplayJob, ReplayRequest
from api.services import replays

router = APIRouter(prefix="/admin", tags=["admin"])


@router.post("/replays", response_model=ReplayJob, status_code=202, summary="Start a replay")
async def start_replay(req: ReplayRequest, request: Request, admin: Admin, res: Res) -> ReplayJob:
    """Replay a past race into Kafka in the background (max speed unless ``speed`` is set)."""
    if req.session_key and not SESSION_KEY_RE.match(req.session_key):
        raise HTTPException(422, f"invalid session_key {req.session_key!r}, e.g. 2023-monaco-R")
    await audit(
        request, "admin.replay", "ok", actor=admin.actor, subject=req.session_key,
        detail=req.model_dump(mode="json"),
    )  # fmt: skip
    return replays.start(res, req)


@router.get("/replays/{job_id}", response_model=ReplayJob, summary="Replay progress")
async def replay_status(
    job_id: Annotated[str, Path(pattern=r"^[0-9a-f]{12}$", description="The job's id.")],
    admin: Admin,
    res: Res,
) -> ReplayJob:
    return replays.job(res, job_id)


@router.post("/models/reload", summary="Reload the race models")
async def reload_models(request: Request, admin: Admin, res: Res) -> dict[str, str]:
    """Load the newest trained artifact from the model directory (or priors)."""
    models = await res.reload_models()
    await audit(
        request, "admin.models_reload", "ok", actor=admin.actor,
        detail={"model_version": models.version},
    )  # fmt: skip
    return {"model_version": models.version}
