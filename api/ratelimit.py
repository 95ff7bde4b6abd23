"""Rate limits per client address, per user, and on the auth endpoints per address: in Redis
(so they hold across API processes), and in this process's memory while Redis is down.

Fixed one-minute windows (the ``limits`` library: its Redis storage through redis-py, its
memory storage as the fallback). Every request counts against its address
(``PITWALL_RATE_LIMIT_IP``, default 1000/min); a request with an access token or an API key
counts against that user or key too (``PITWALL_RATE_LIMIT_USER``, default 100/min); a POST to
``/api/v1/auth/`` (sign-in, registration, refresh, sign-out, keys, users) counts against its
address in a bucket of its own (``PITWALL_RATE_LIMIT_AUTH``, default 30/min): password hashing
is the costliest thing a client can make the API do. Over any: 429 with ``Retry-After``
(seconds to the next window). The address is the connection's, or the one trusted proxies
forwarded (:func:`api.middleware.client_ip`); a header alone never changes it. Credentials
are only looked at here, not checked against the database: a forged token fails in the
handler and counts against its address only. Health, metrics, the dashboard's static files
and WebSockets are not limited.

When Redis cannot be reached the limits go on from memory, per process: with N API
processes a client gets at most N times its limit, never an unlimited API (/health/ready
reports Redis). Failed sign-ins are throttled apart from this, in PostgreSQL
(:mod:`api.auth.throttle`).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

import structlog
from fastapi import Request, Response
from fastapi.responses import JSONResponse
from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.errors import StorageError
from redis.exceptions import RedisError
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from api.auth.security import access_subject

log = structlog.get_logger(__name__)

EXEMPT_PREFIXES = ("/health", "/metrics", "/static", "/dashboard", "/ws", "/docs", "/openapi")
AUTH_PREFIX = "/api/v1/auth/"
KEY_PREFIX = "pitwall:ratelimit"
#: Seconds between two warnings that the limits run from memory.
WARN_EVERY_S = 60.0


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


@dataclass(frozen=True)
class Limits:
    """Requests per minute (0: no limit) of each bucket."""

    address: int
    user: int
    auth: int


class Limiter:
    """Counts hits in Redis, or in memory whenever Redis fails."""

    def __init__(self, redis_url: str | None) -> None:
        self.memory = FixedWindowRateLimiter(MemoryStorage())
        self.shared: FixedWindowRateLimiter | None = None
        if redis_url:
            storage = RedisStorage(
                "async+" + redis_url,
                implementation="redispy",
                key_prefix=KEY_PREFIX,
                socket_connect_timeout=0.5,
                socket_timeout=0.5,
            )
            self.shared = FixedWindowRateLimiter(storage)
        self._warned = 0.0

    async def hit(self, limit: int, who: str) -> tuple[bool, int, float]:
        """Count one request of ``who`` against ``limit`` per minute: (allowed, remaining,
        epoch seconds when the window resets)."""
        item = RateLimitItemPerMinute(limit)
        if self.shared is not None:
            try:
                ok = await self.shared.hit(item, who)
                stats = await self.shared.get_window_stats(item, who)
                return ok, stats.remaining, stats.reset_time
            except (RedisError, OSError, StorageError) as exc:
                self._warn(exc)
        ok = await self.memory.hit(item, who)
        stats = await self.memory.get_window_stats(item, who)
        return ok, stats.remaining, stats.reset_time

    def _warn(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._warned >= WARN_EVERY_S:
            self._warned = now
            log.warning("rate limits from this process's memory: Redis unavailable", error=str(exc))


class RateLimitMiddleware(BaseHTTPMiddleware):
    def __init__(
        self, app, redis_url: str | None, limits: Limits, jwt_secret: str, limiter=None
    ) -> None:
        super().__init__(app)
        self.limits = limits
        self.jwt_secret = jwt_secret
        self.limiter = limiter or Limiter(redis_url)

    def buckets(self, request: Request) -> list[tuple[str, str, int]]:
        """(what, who, limit) of every bucket the request counts against."""
        ip = getattr(request.state, "client_ip", None) or (
            request.client.host if request.client else "unknown"
        )
        out = []
        if self.limits.address > 0:
            out.append(("address", f"ip:{ip}", self.limits.address))
        if self.limits.user > 0 and (who := user_key(request, self.jwt_secret)) is not None:
            out.append(("user", who, self.limits.user))
        if (
            self.limits.auth > 0
            and request.method == "POST"
            and request.url.path.startswith(AUTH_PREFIX)
        ):
            out.append(("address on the auth endpoints", f"auth:{ip}", self.limits.auth))
        return out

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        path = request.url.path
        if path == "/" or path.startswith(EXEMPT_PREFIXES):
            return await call_next(request)
        checks = self.buckets(request)
        remaining: list[tuple[int, int]] = []
        for what, who, limit in checks:
            ok, left, reset = await self.limiter.hit(limit, who)
            if not ok:
                retry_after = max(int(reset - time.time()) + 1, 1)
                return JSONResponse(
                    {
                        "detail": f"rate limit exceeded: {limit} requests per minute per "
                        f"{what}; retry in {retry_after} s"
                    },
                    status_code=429,
                    headers={"Retry-After": str(retry_after), "X-RateLimit-Limit": str(limit)},
                )
            remaining.append((limit, left))
        response = await call_next(request)
        if remaining:  # the tightest of the buckets is what the client has left
            limit, left = min(remaining, key=lambda r: r[1])
            response.headers["X-RateLimit-Limit"] = str(limit)
            response.headers["X-RateLimit-Remaining"] = str(left)
        return response
