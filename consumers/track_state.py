"""Live state for the track map and the battles page, kept beside the standings by the Redis
writer: the latest battle forecast of a session, and each car's latest X/Y position.

Telemetry comes at several samples per car per second; positions are gathered in memory and
written and published at most every ``POSITIONS_INTERVAL_S`` per session (kind ``positions``,
only the cars that moved), which is as often as a map can usefully redraw.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from consumers.redis_keys import SESSIONS, live_channel, session_key_name

POSITIONS_INTERVAL_S = 0.2


def _publish(pipe: Any, key: str, kind: str, topic: str, payload: Any) -> None:
    pipe.zadd(SESSIONS, {key: time.time()})
    message = {"kind": kind, "topic": topic, "published_at": time.time(), "data": payload}
    pipe.publish(live_channel(key), orjson.dumps(message))


def apply_battles(key: str, topic: str, raw: bytes, data: dict[str, Any], pipe: Any) -> None:
    """Keep the session's latest forecast (a later lap replaces an earlier one) and publish."""
    pipe.set(session_key_name(key, "battles"), raw)
    _publish(pipe, key, "battles", topic, data)


class Positions:
    """The latest X/Y of every car, flushed to Redis at most every ``interval`` s a session."""

    def __init__(self, interval: float = POSITIONS_INTERVAL_S) -> None:
        self.interval = interval
        #: session -> driver -> latest sample not yet written
        self.pending: dict[str, dict[str, dict[str, Any]]] = {}
        self.flushed_at: dict[str, float] = {}
        self.topic = "f1.telemetry.v1"

    def add(self, topic: str, raw: bytes) -> bool:
        """Take one telemetry sample (no pydantic: thousands a second); False without X/Y."""
        data = orjson.loads(raw)
        x, y = data.get("x"), data.get("y")
        if x is None or y is None or not data.get("driver") or not data.get("session_key"):
            return False
        self.topic = topic
        t = (data.get("event_time") or {}).get("session_time")
        cars = self.pending.setdefault(data["session_key"], {})
        cars[data["driver"]] = {"x": x, "y": y, "t": t, "produced_at": data.get("produced_at")}
        return True

    def flush(self, pipe: Any, now: float | None = None, force: bool = False) -> int:
        """Write and publish the sessions whose interval has passed; the number flushed."""
        now = time.monotonic() if now is None else now
        done = 0
        for key in list(self.pending):
            if not force and now - self.flushed_at.get(key, -1e9) < self.interval:
                continue
            cars = self.pending.pop(key)
            self.flushed_at[key] = now
            pipe.hset(
                session_key_name(key, "positions"),
                mapping={d: orjson.dumps(c) for d, c in cars.items()},
            )
            t = max((c["t"] for c in cars.values() if c["t"] is not None), default=None)
            _publish(pipe, key, "positions", self.topic, {"session_time": t, "cars": cars})
            done += 1
        return done
