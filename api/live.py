"""Reading the live state the Redis writer (``consumers/``) keeps per session.

Keys and channel follow the live-state contract (``schemas/live.py``):
``pitwall:sessions`` (sorted set of session keys by last update), and per session ``info``,
``standings`` (hash driver -> row), ``track_status``, ``strategy``, ``strategy_history``
(list) and ``degradation`` (hash driver -> event), with updates on ``pitwall:live:{key}``.
"""

from __future__ import annotations

from typing import Any

import orjson
from redis.asyncio import Redis

from schemas.live import SESSIONS, StandingRow, live_channel, session_key_name
from strategy.standings import tower

__all__ = ["SESSIONS", "live_channel", "live_sessions", "session_key_name", "snapshot"]


def _json(raw: bytes | str | None) -> Any:
    return orjson.loads(raw) if raw else None


async def snapshot(redis: Redis, session_key: str, history: int = 200) -> dict[str, Any]:
    """Everything a client needs to draw the session now (one round trip)."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.get(session_key_name(session_key, "info"))
        pipe.hgetall(session_key_name(session_key, "standings"))
        pipe.get(session_key_name(session_key, "track_status"))
        pipe.get(session_key_name(session_key, "strategy"))
        pipe.lrange(session_key_name(session_key, "strategy_history"), -history, -1)
        pipe.hgetall(session_key_name(session_key, "degradation"))
        pipe.zscore(SESSIONS, session_key)
        pipe.lrange(session_key_name(session_key, "race_control"), 0, -1)
        pipe.get(session_key_name(session_key, "weather"))
        (info, standings, track, strategy, hist, degradation, updated, messages,
         weather) = await pipe.execute()  # fmt: skip
    rows = [
        r.model_dump()
        for r in tower([StandingRow.model_validate_json(v) for v in standings.values()])
    ]
    return {
        "session_key": session_key,
        "known": bool(info or rows or updated),
        "updated_at": updated,
        "info": _json(info),
        "standings": rows,
        "track_status": _json(track),
        "strategy": _json(strategy),
        "strategy_history": [orjson.loads(h) for h in hist],
        "degradation": {
            (k.decode() if isinstance(k, bytes) else k): orjson.loads(v)
            for k, v in degradation.items()
        },
        "race_control": [orjson.loads(m) for m in messages],
        "weather": _json(weather),
    }


async def live_sessions(redis: Redis, limit: int = 100) -> list[tuple[str, float]]:
    """(session key, epoch seconds of its last update), newest first."""
    items = await redis.zrevrange(SESSIONS, 0, limit - 1, withscores=True)
    return [(k.decode() if isinstance(k, bytes) else k, float(s)) for k, s in items]
