"""The dashboard (``/``, ``/dashboard``) and its analytics and pre-race pages (static HTML + JS
in ``api/static``, no build step)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse

from api.deps import Res
from api.services.warmup import warm_models

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).resolve().parent.parent / "static"
PAGES = (
    "compare", "telemetry", "battles", "track",
    "next-race", "calendar", "accuracy", "rankings", "standings",
)  # fmt: skip


def _page(name: str):
    async def page() -> FileResponse:
        return FileResponse(STATIC / f"{name}.html", headers={"Cache-Control": "no-cache"})

    page.__name__ = f"page_{name}"
    return page


for _name in PAGES:
    router.add_api_route(f"/{_name}", _page(_name), methods=["GET"])


@router.get("/")
async def root(request: Request) -> RedirectResponse:
    query = request.url.query
    return RedirectResponse("/dashboard" + (f"?{query}" if query else ""))


@router.get("/dashboard")
async def dashboard(res: Res) -> FileResponse:
    warm_models(res)  # the what-if planner's first answer should not wait for them
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})
