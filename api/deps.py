"""The FastAPI dependencies that hand the app's ``Resources`` (``api.resources``) and its
parts to the routers, and the typed aliases routers declare them with (``Res``, ``Redis_``,
``PG``, ``Models``, ``SessionKey``).

Where a server is not configured the dependency answers 503 with a message saying what is
missing, so the REST endpoints that do not need it keep working.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, HTTPException, Path, Request
from psycopg import AsyncConnection
from redis.asyncio import Redis

from api.resources import Resources

if TYPE_CHECKING:
    from strategy.artifacts import RaceModels

#: A session key: "<year>-<event slug>-<session>", e.g. "2023-monaco-R" (suffixes allowed).
SESSION_KEY_RE = re.compile(r"^[0-9]{4}-[a-z0-9][a-z0-9-]*$", re.IGNORECASE)


def resources(request: Request) -> Resources:
    return request.app.state.resources


def redis_client(res: Annotated[Resources, Depends(resources)]) -> Redis:
    if res.redis is None:
        raise HTTPException(503, "Redis is not configured: set REDIS_URL or run `pitwall up`.")
    return res.redis


async def pg_conn(
    res: Annotated[Resources, Depends(resources)],
) -> AsyncIterator[AsyncConnection[dict[str, Any]]]:
    if res.pg is None:
        raise HTTPException(
            503, "PostgreSQL is not configured: set DATABASE_URL or run `pitwall up`."
        )
    try:
        async with res.pg.connection(timeout=5) as conn:
            yield conn
    except TimeoutError:
        raise HTTPException(503, "PostgreSQL is not reachable (no connection in 5 s).") from None


async def race_models(res: Annotated[Resources, Depends(resources)]) -> RaceModels:
    return await res.models()


def session_key_path(
    session_key: Annotated[
        str,
        Path(
            description="Session key: year, event slug and session, e.g. 2023-monaco-R.",
            examples=["2023-monaco-R"],
            max_length=100,
            pattern=r"^[0-9]{4}-[A-Za-z0-9][A-Za-z0-9-]*$",
        ),
    ],
) -> str:
    if not SESSION_KEY_RE.match(session_key):
        raise HTTPException(
            422,
            f"invalid session key {session_key!r}: expected '<year>-<event>-<session>', "
            "e.g. '2023-monaco-R'",
        )
    return session_key


Res = Annotated[Resources, Depends(resources)]
Redis_ = Annotated[Redis, Depends(redis_client)]
PG = Annotated[AsyncConnection, Depends(pg_conn)]
Models = Annotated["RaceModels", Depends(race_models)]
SessionKey = Annotated[str, Depends(session_key_path)]
