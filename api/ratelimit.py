"""Rate limits per client address and per user, backed by Redis (so they hold across API
processes).

Fixed one-minute windows: ``INCR pitwall:ratelimit:{who}:{window}`` with an expiry. Every
request counts against its address (``PITWALL_RATE_LIMIT_IP``, default 1000/min); a request
with a valid access token or an API key counts against that user or key too
(``PITWALL_RATE_LIMIT_USER``, default 100/min). Over either: 429 with ``Retry-After``
(seconds to the next window). The address is the connection's, or the one trusted proxies
forwarded (:func:`api.middleware.client_ip`); a header alone never changes it. Credentials
are only looked at here, not checked against the database: a forged token fails in the
handler and counts against its address only. Health, metrics, the dashboard's static files
and WebSockets are not limited. When Redis is unreachable no limit is enforced (the API keeps
serving; /health/ready reports Redis).
"""

from __future__ import annotations

import hashlib
import time

import structlog
from fastapi import Request, Response
from fastapi.responses import JSONResponse
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from api.auth.security import access_subject

log = structlog.get_logger(__name__)

WINDOW_S = 60
EXEMPT_PREFIXES = ("/health", "/metrics", "/static", "/dashboard", "/ws", "/docs", "/openapi")


def user_key(request: Request, jwt_secret: str) -> str | None:
    """The per-user bucket of a request: its access token's user, or its API key."""
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token:
        sub = access_subject(token.strip(), jwt_secret)
        if sub is not None:
            return f"user:{sub}"
    key = request.headers.get("x-api-key")
    if key:
        return "key:" + hashlib.sha256(key.encode()).hexdigest()[:16]
    return None


class RateLimitMiddleware(BaseHTTPMiddleware):
    def __init__(self, app, redis_getter, ip_limit: int, user_limit: int, jwt_secret: str) -> None:
        super().__init__(app)
        self.redis_getter = redis_getter
        self.ip_limit = ip_limit
        self.user_limit = user_limit
        self.jwt_secret = jwt_secret

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        path = request.url.path
        redis: Redis | None = self.redis_getter()
        if redis is None or path == "/" or path.startswith(EXEMPT_PREFIXES):
            return await call_next(request)
        checks: list[tuple[str, str, int]] = []
        if self.ip_limit > 0:
            ip = getattr(request.state, "client_ip", None) or (
                request.client.host if request.client else "unknown"
            )
            checks.append(("address", f"ip:{ip}", self.ip_limit))
        if self.user_limit > 0:
            who = user_key(request, self.jwt_secret)
            if who is not None:
                checks.append(("user", who, self.user_limit))
        if not checks:
            return await call_next(request)
        now = time.time()
        window = int(now // WINDOW_S)
        try:
            async with redis.pipeline(transaction=False) as pipe:
                for _, who, _ in checks:
                    key = f"pitwall:ratelimit:{who}:{window}"
                    pipe.incr(key)
                    pipe.expire(key, WINDOW_S + 5)
                counts = (await pipe.execute())[::2]
        except (RedisError, OSError) as exc:
            log.warning("rate limit not enforced, Redis unavailable", error=str(exc))
            return await call_next(request)
        for (what, _, limit), count in zip(checks, counts, strict=True):
            if int(count) > limit:
                retry_after = max(int((window + 1) * WINDOW_S - now) + 1, 1)
                return JSONResponse(
                    {
                        "detail": f"rate limit exceeded: {limit} requests per minute per "
                        f"{what}; retry in {retry_after} s"
                    },
                    status_code=429,
                    headers={"Retry-After": str(retry_after), "X-RateLimit-Limit": str(limit)},
                )
        # The tightest of the buckets is what the client has left.
        what, _, limit = checks[-1]
        remaining = max(limit - int(counts[-1]), 0)
        response = await call_next(request)
        response.headers["X-RateLimit-Limit"] = str(limit)
        response.headers["X-RateLimit-Remaining"] = str(remaining)
        return response
