"""What every request of one API process shares: the settings, the async Redis client, the
PostgreSQL pool, the race models (loaded on first use, reloadable) and the analytics' memory
(the lap tables of the last few sessions, the battle models loaded, the track maps fitted)
and the replays started over the API.

One ``Resources`` per app (``api.main.create_app``); the FastAPI dependencies that hand it and
its parts to the routers are in ``api.deps``, the services take it as a parameter.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import BlockingConnectionPool, Redis

from core.settings import Settings

if TYPE_CHECKING:
    from api.models import ReplayJob
    from api.services.session_laps import LoadedSession
    from strategy.artifacts import RaceModels

REDIS_POOL_SIZE = 64
#: Sessions whose lap tables a process keeps (a race's is a few MB).
SESSIONS_KEPT = 8

K = TypeVar("K")
V = TypeVar("V")


class Recent(Generic[K, V]):
    """The last ``size`` values put, by key (least recently used dropped first); safe to use
    from the threads the analytics run in."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


@dataclass
class Resources:
    """What every request of one API process shares."""

    settings: Settings
    redis: Redis | None = None
    pg: AsyncConnectionPool | None = None
    #: Lap tables of the last sessions analysed, by (session key, state directory).
    sessions: Recent[tuple[str, Path], LoadedSession] = field(
        default_factory=lambda: Recent(SESSIONS_KEPT)
    )
    #: Battle models loaded, by artifact folder.
    battle_models: dict[Path, Any] = field(default_factory=dict)
    #: Track maps fitted, by (session key, data directory).
    track_maps: dict[tuple[str, Path], dict[str, Any]] = field(default_factory=dict)
    #: Replays started over the API, by job id, and the tasks running them.
    replay_jobs: dict[str, ReplayJob] = field(default_factory=dict)
    background: set[asyncio.Task[Any]] = field(default_factory=set)
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
        for task in list(self.background):
            task.cancel()
        if self.redis is not None:
            await self.redis.aclose()
        if self.pg is not None:
            await self.pg.close()

    def forget_sessions(self) -> None:
        """Forget the lap tables kept in this process (benchmarks measure a cold start)."""
        self.sessions.clear()

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
