"""The FastAPI app factory: REST routers, the WebSocket gateway, metrics and the dashboard.

``create_app()`` wires everything on one app; ``pitwall serve`` runs it under uvicorn
(``uvicorn --factory api.main:create_app`` works too). Errors answer ``api.errors.ErrorBody``
(``{"detail": ...}``) with a message saying what was wrong; a database whose schema the sink
has not created yet answers 503 saying so. The app refuses to be built for a non-loopback
address while ``PITWALL_API_KEY`` or ``PITWALL_JWT_SECRET`` is the development default.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from api import errors
from api.auth import require_reader
from api.auth import store as auth_store
from api.auth.router import router as auth_router
from api.gateway import Gateway
from api.gateway import router as ws_router
from api.metrics import Metrics, RequestMetricsMiddleware
from api.metrics import router as metrics_router
from api.middleware import RequestContextMiddleware, cors_options, parse_networks
from api.ratelimit import RateLimitMiddleware
from api.resources import Resources
from api.routers import (
    admin,
    battles,
    compare,
    dashboard,
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
from core import logs
from core.gc import freeze_startup_objects
from core.settings import Settings, get_settings

log = logging.getLogger(__name__)

DESCRIPTION = """
Live F1 race strategy: sessions and laps stored from the Kafka streams, the race model's
predictions (lap time, tyre degradation, safety car), the Monte Carlo race simulator and the
decision engine, exports, and a WebSocket per session (`/ws/sessions/{session_key}`) that
pushes a snapshot and then every standings/strategy update. The dashboard is at `/`.

Auth (`/api/v1/auth`): users sign in for a 60-minute access token (`Authorization: Bearer`)
and a refresh token usable once; admins create API keys (`X-API-Key`). Endpoints under
`/admin` need an admin: an admin's token, an admin API key or the shared `X-API-Key`. Reads
are public unless the server sets `PITWALL_AUTH_READS=1`. Requests are rate-limited per
address and per user (429 with `Retry-After`). Every error answers `ErrorBody`.
"""


#: Routers of data anyone may read (or, with PITWALL_AUTH_READS, any user or key).
def _read_routers() -> tuple:
    return (
        sessions.router,
        dashboard.router,
        predictions.router,
        simulations.router,
        strategies.router,
        compare.router,
        insights.router,
        telemetry.router,
        battles.router,
        exports.router,
        race_predictions.router,
        races.router,
        standings.router,
        prediction_analytics.router,
        history_exports.router,
        topic_schemas.router,
    )


OPENAPI_TAGS = [
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
    {"name": "auth", "description": "Users, tokens, API keys, the audit log."},
    {"name": "admin", "description": "Replays and model reload (admins)."},
    {"name": "health", "description": "Liveness, readiness, Prometheus metrics."},
    {"name": "schemas", "description": "JSON Schemas of the Kafka topics."},
]


def create_app(settings: Settings | None = None, host: str | None = None) -> FastAPI:
    """Build the API app for ``settings``, to listen on ``host``.

    The entry point of the API process (``pitwall serve``, ``uvicorn --factory``): without
    ``settings`` it reads the process settings; everything below takes them from here.
    Refuses (``InsecureSettingsError``) a non-loopback ``host`` (default
    ``PITWALL_API_HOST``) while a secret is its development default.
    """
    settings = settings or get_settings()
    settings.check_exposure(host or settings.api_host)
    logs.configure("api", settings.log_format, settings.log_level)
    res = Resources(settings)
    metrics = Metrics(settings.kafka_bootstrap)
    app = FastAPI(
        title="pitwall",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=_lifespan(res, metrics),
        openapi_tags=OPENAPI_TAGS,
    )
    app.state.resources = res
    app.state.metrics = metrics
    _add_middleware(app, res, metrics)
    errors.install(app, _public_operations(settings))

    reader = [Depends(require_reader)]
    for router in _read_routers():
        app.include_router(router, dependencies=reader)
    for router in (auth_router, pages.router, admin.router, health.router, metrics_router):
        app.include_router(router)
    app.include_router(ws_router)
    app.mount("/static", StaticFiles(directory=pages.STATIC), name="static")
    return app


def _lifespan(
    res: Resources, metrics: Metrics
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Open the servers' clients and start the WebSocket gateway; stop and close on the way
    out (cancelling the replays still running)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await res.open()
        await _ensure_auth_tables(res)
        gateway = Gateway(res.redis, metrics, max_buffer=res.settings.ws_max_buffer)
        app.state.gateway = gateway
        await gateway.start()
        # Keep what start-up loaded out of the collector's scans: with many sockets open a
        # full collection would stall every client's updates at once.
        freeze_startup_objects()
        try:
            yield
        finally:
            await gateway.stop()
            await res.close()

    return lifespan


def _add_middleware(app: FastAPI, res: Resources, metrics: Metrics) -> None:
    """Outermost last: request id and headers wrap everything (429s included), then CORS,
    the rate limit and the request metrics."""
    settings = res.settings
    app.add_middleware(RequestMetricsMiddleware, metrics=metrics)
    app.add_middleware(
        RateLimitMiddleware,
        redis_getter=lambda: res.redis,
        ip_limit=settings.rate_limit_ip,
        user_limit=settings.rate_limit_user,
        jwt_secret=settings.jwt_secret.get_secret_value(),
    )
    cors = cors_options(settings)
    if cors is not None:
        app.add_middleware(CORSMiddleware, **cors)
    app.add_middleware(
        RequestContextMiddleware, trusted_proxies=parse_networks(settings.trusted_proxy_list)
    )


def _public_operations(settings: Settings) -> set[tuple[str, str]]:
    """(path, method) of the read operations anyone may call (none with PITWALL_AUTH_READS)."""
    if settings.auth_reads:
        return set()
    return {
        (route.path, method.lower())
        for router in _read_routers()
        for route in router.routes
        for method in getattr(route, "methods", ())
    }


async def _ensure_auth_tables(res: Resources) -> None:
    """Create the users/keys/audit tables if missing; PostgreSQL down is not fatal here (the
    auth endpoints answer 503 until it is back, and the sink's migrate creates them too)."""
    if res.pg is None:
        return
    try:
        async with res.pg.connection(timeout=10) as conn:
            await auth_store.ensure_tables(conn)
    except Exception as exc:
        log.warning("auth tables not checked (PostgreSQL unavailable?): %s", exc)
