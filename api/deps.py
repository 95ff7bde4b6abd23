"""Shared resources of the API process and the FastAPI dependencies that hand them out.

One ``Resources`` object per app holds the settings, the async Redis client, the PostgreSQL
connection pool and the race models (loaded on first use, reloadable). Where a server is not
configured the dependency answers 503 with a message saying what is missing, so the REST
endpoints that do not need it keep working.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, HTTPException, Path, Request
from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import BlockingConnectionPool, Redis

from core.settings import Settings

if TYPE_CHECKING:
    from strategy.artifacts import RaceModels

log = logging.getLogger(__name__)

#: A session key: "<year>-<event slug>-<session>", e.g. "2023-monaco-R" (suffixes allowed).
REDIS_POOL_SIZE = 64
SESSION_KEY_RE = re.compile(r"^[0-9]{4}-[a-z0-9][a-z0-9-]*$", re.IGNORECASE)


@dataclass
class Resources:
    """What every request of one API process shares."""

    settings: Settings
    redis: Redis | None = None
    pg: AsyncConnectionPool | None = None
    _models: RaceModels | None = None
    _models_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def open(self) -> None:
        if self.settings.redis_url:
            # Blocking pool: a burst of clients connecting at once waits for a connection
            # instead of failing with "too many connections".
            pool = BlockingConnectionPool.from_url(
                self.settings.redis_url, max_connections=REDIS_POOL_SIZE, timeout=20
            )
            self.redis = Redis(connection_pool=pool)
        if self.settings.database_url:
            self.pg = AsyncConnectionPool(
                self.settings.database_url,
                min_size=1,
                max_size=8,
                open=False,
                kwargs={"autocommit": True, "row_factory": dict_row},
            )
            await self.pg.open(wait=False)

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
        if self.pg is not None:
            await self.pg.close()

    async def models(self) -> RaceModels:
        """The race models, loaded once (in a thread: it reads files and may fit priors)."""
        if self._models is None:
            async with self._models_lock:
                if self._models is None:
                    self._models = await asyncio.to_thread(_load_models, self.settings)
        return self._models

    async def reload_models(self) -> RaceModels:
        models = await asyncio.to_thread(_load_models, self.settings)
        async with self._models_lock:
            self._models = models
        return models


def _load_models(settings: Settings) -> RaceModels:
    from strategy.artifacts import load_models

    return load_models(settings.model_dir)


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


Redis_ = Annotated[Redis, Depends(redis_client)]
PG = Annotated[AsyncConnection, Depends(pg_conn)]
Models = Annotated["RaceModels", Depends(race_models)]
SessionKey = Annotated[str, Depends(session_key_path)]
