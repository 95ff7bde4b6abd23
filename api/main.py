"""The FastAPI app factory: REST routers, the WebSocket gateway, metrics and the dashboard.

``create_app()`` wires everything on one app; ``pitwall serve`` runs it under uvicorn
(``uvicorn --factory api.main:create_app`` works too). Errors answer JSON ``{"detail": ...}``
with a message saying what was wrong; a database whose schema the sink has not created yet
answers 503 saying so.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from api.deps import Resources
from api.gateway import Gateway
from api.gateway import router as ws_router
from api.metrics import Metrics, RequestMetricsMiddleware
from api.metrics import router as metrics_router
from api.ratelimit import RateLimitMiddleware
from api.routers import (
    admin,
    battles,
    compare,
    exports,
    health,
    history_exports,
    insights,
    pages,
    prediction_analytics,
    predictions,
    race_predictions,
    races,
    sessions,
    simulations,
    standings,
    strategies,
    telemetry,
    topic_schemas,
)
from pitwall.core.gc import freeze_startup_objects
from pitwall.core.settings import Settings, get_settings

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"

DESCRIPTION = """
Live F1 race strategy: sessions and laps stored from the Kafka streams, the race model's
predictions (lap time, tyre degradation, safety car), the Monte Carlo race simulator and the
decision engine, exports, and a WebSocket per session (`/ws/sessions/{session_key}`) that
pushes a snapshot and then every standings/strategy update. The dashboard is at `/`.

Endpoints under `/admin` need the `X-API-Key` header. Requests are rate-limited per client
(429 with `Retry-After`).
"""


def create_app(settings: Settings | None = None, rate_limit: int | None = None) -> FastAPI:
    """Build the API app for ``settings``.

    The entry point of the API process (``pitwall serve``, ``uvicorn --factory``): without
    ``settings`` it reads the process settings; everything below takes them from here.
    """
    settings = settings or get_settings()
    res = Resources(settings)
    metrics = Metrics(settings.kafka_bootstrap)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await res.open()
        gateway = Gateway(res.redis, metrics, max_buffer=settings.ws_max_buffer)
        app.state.gateway = gateway
        await gateway.start()
        # Keep what start-up loaded out of the collector's scans: with many sockets open a
        # full collection would stall every client's updates at once.
        freeze_startup_objects()
        try:
            yield
        finally:
            await gateway.stop()
            for task in list(app.state.background):
                task.cancel()
            await res.close()

    app = FastAPI(
        title="pitwall",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_tags=[
            {"name": "sessions", "description": "Stored and live sessions, laps, stints."},
            {"name": "predictions", "description": "Lap time, degradation, safety car."},
            {"name": "simulations", "description": "Monte Carlo race simulation."},
            {"name": "strategies", "description": "Optimal strategy and plan comparison."},
            {
                "name": "analytics",
                "description": "Driver and team comparisons, consistency, head-to-head, "
                "telemetry traces, battle forecasts and the track map (chart-ready JSON).",
            },
            {"name": "exports", "description": "CSV / JSON downloads."},
            {"name": "race predictions", "description": "Pre-race win and podium chances."},
            {"name": "races", "description": "F1 calendar and results (Ergast history)."},
            {"name": "standings", "description": "Drivers' and constructors' standings."},
            {"name": "prediction analytics", "description": "Prediction accuracy, Elo."},
            {"name": "admin", "description": "Replays and model reload (API key)."},
            {"name": "health", "description": "Liveness, readiness, Prometheus metrics."},
            {"name": "schemas", "description": "JSON Schemas of the Kafka topics."},
        ],
    )
    app.state.resources = res
    app.state.metrics = metrics
    app.state.replay_jobs = {}
    app.state.background = set()

    app.add_middleware(
        RateLimitMiddleware,
        redis_getter=lambda: res.redis,
        limit=settings.rate_limit if rate_limit is None else rate_limit,
    )
    app.add_middleware(RequestMetricsMiddleware, metrics=metrics)

    for router in (
        sessions.router,
        predictions.router,
        simulations.router,
        strategies.router,
        compare.router,
        insights.router,
        telemetry.router,
        battles.router,
        pages.router,
        exports.router,
        race_predictions.router,
        races.router,
        standings.router,
        prediction_analytics.router,
        history_exports.router,
        admin.router,
        health.router,
        topic_schemas.router,
        metrics_router,
        ws_router,
    ):
        app.include_router(router)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    async def root(request: Request) -> RedirectResponse:
        query = request.url.query
        return RedirectResponse("/dashboard" + (f"?{query}" if query else ""))

    @app.get("/dashboard", include_in_schema=False)
    async def dashboard() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    @app.exception_handler(psycopg.errors.UndefinedTable)
    async def no_schema(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            {"detail": "the database has no pitwall tables yet: start the sink (`pitwall sink`)"},
            status_code=503,
        )

    @app.exception_handler(psycopg.OperationalError)
    async def db_down(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": f"database unavailable: {exc}"[:300]}, status_code=503)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        parts = []
        for err in errors:
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
        return JSONResponse(
            {"detail": "; ".join(parts), "errors": _jsonable(errors)}, status_code=422
        )

    return app


def _jsonable(errors: list) -> list:
    out = []
    for err in errors:
        err = dict(err)
        err.pop("ctx", None)
        err.pop("input", None)
        out.append(err)
    return out
