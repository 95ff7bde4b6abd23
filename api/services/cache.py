"""The Redis cache of the analytics' results, and whether a session is live.

Results are cached as the JSON the endpoint sends, under a key naming the endpoint, session
and parameters, for ``TTL_LIVE_S`` while the session is live (the Redis writer touched it in the
last ``LIVE_WINDOW_S``) and ``TTL_FINISHED_S`` otherwise. Without Redis every request computes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from redis.asyncio import Redis

from api.live import SESSIONS

TTL_LIVE_S = 10
TTL_FINISHED_S = 6 * 3600
LIVE_WINDOW_S = 300
CACHE_VERSION = 1


def cache_key(name: str, session_key: str, params: str) -> str:
    return f"pitwall:analytics:v{CACHE_VERSION}:{name}:{session_key}:{params}"


async def is_live(redis: Redis | None, session_key: str) -> bool:
    """Whether the Redis writer updated the session in the last ``LIVE_WINDOW_S``."""
    if redis is None:
        return False
    score = await redis.zscore(SESSIONS, session_key)
    return score is not None and time.time() - float(score) < LIVE_WINDOW_S


async def cached(
    redis: Redis | None,
    name: str,
    session_key: str,
    params: str,
    compute: Callable[..., Any],
    prepare: Callable[[], Awaitable[Any]] | None = None,
) -> bytes:
    """The JSON of ``compute()`` (run in a thread; given what ``prepare()`` returns when there
    is one, e.g. a live session's laps), from Redis when cached there."""
    key = cache_key(name, session_key, params)
    if redis is not None:
        hit = await redis.get(key)
        if hit is not None:
            return hit
    args = (await prepare(),) if prepare is not None else ()
    result = await asyncio.to_thread(compute, *args)
    body = result if isinstance(result, bytes) else dumps(result)
    if redis is not None:
        ttl = TTL_LIVE_S if await is_live(redis, session_key) else TTL_FINISHED_S
        await redis.set(key, body, ex=ttl)
    return body


def dumps(obj: Any) -> bytes:
    """A pydantic model's JSON, or orjson's of anything else (numpy arrays included)."""
    if hasattr(obj, "model_dump_json"):
        return obj.model_dump_json().encode()
    return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
