"""Per-client rate limit backed by Redis, so it holds across several API processes.

Fixed one-minute windows: ``INCR pitwall:ratelimit:{client}:{window}`` with an expiry; over
the limit the request gets 429 with ``Retry-After`` (seconds to the next window). A client is
its API key when it sends one, else its address. Health, metrics, the dashboard's static files
and WebSockets are not limited. When Redis is unreachable the limit is not enforced (the API
keeps serving; /health/ready reports Redis).
"""

from __future__ import annotations

import hashlib
import logging
import time

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

log = logging.getLogger(__name__)

WINDOW_S = 60
EXEMPT_PREFIXES = ("/health", "/metrics", "/static", "/dashboard", "/ws", "/docs", "/openapi")


def client_id(request: Request) -> str:
    key = request.headers.get("x-api-key")
    if key:
        return "key:" + hashlib.sha256(key.encode()).hexdigest()[:16]
    forwarded = request.headers.get("x-forwarded-for")
    host = forwarded.split(",")[0].strip() if forwarded else None
    return "ip:" + (host or (request.client.host if request.client else "unknown"))


class RateLimitMiddleware(BaseHTTPMiddleware):
    def __init__(self, app, redis_getter, limit: int) -> None:
        super().__init__(app)
        self.redis_getter = redis_getter
        self.limit = limit

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        path = request.url.path
        redis: Redis | None = self.redis_getter()
        if self.limit <= 0 or redis is None or path == "/" or path.startswith(EXEMPT_PREFIXES):
            return await call_next(request)
        now = time.time()
        window = int(now // WINDOW_S)
        key = f"pitwall:ratelimit:{client_id(request)}:{window}"
        try:
            async with redis.pipeline(transaction=False) as pipe:
                pipe.incr(key)
                pipe.expire(key, WINDOW_S + 5)
                count, _ = await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("rate limit not enforced, Redis unavailable: %s", exc)
            return await call_next(request)
        remaining = max(self.limit - int(count), 0)
        if int(count) > self.limit:
            retry_after = max(int((window + 1) * WINDOW_S - now) + 1, 1)
            return JSONResponse(
                {
                    "detail": f"rate limit exceeded: {self.limit} requests per minute per "
                    f"client; retry in {retry_after} s"
                },
                status_code=429,
                headers={"Retry-After": str(retry_after), "X-RateLimit-Limit": str(self.limit)},
            )
        response = await call_next(request)
        response.headers["X-RateLimit-Limit"] = str(self.limit)
        response.headers["X-RateLimit-Remaining"] = str(remaining)
        return response
