"""Live state for the track map, kept beside the standings by the Redis writer: each car's
latest X/Y position from ``f1.telemetry.v1``.

Telemetry comes at several samples per car per second; positions are gathered in memory and
written and published at most every ``POSITIONS_INTERVAL_S`` per session (kind ``positions``,
only the cars that moved), which is as often as a map can usefully redraw.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from schemas.live import SESSIONS, live_channel, session_key_name
from schemas.topics import TELEMETRY

POSITIONS_INTERVAL_S = 0.2


class Positions:
    """The latest X/Y of every car, flushed to Redis at most every ``interval`` s a session."""

    def __init__(self, interval: float = POSITIONS_INTERVAL_S) -> None:
        self.interval = interval
        #: session -> driver -> latest sample not yet written
        self.pending: dict[str, dict[str, dict[str, Any]]] = {}
        self.flushed_at: dict[str, float] = {}

    def add(self, ev: Any) -> bool:
        """Take one telemetry sample; False when it carries no position."""
        if ev.x is None or ev.y is None:
            return False
        cars = self.pending.setdefault(ev.session_key, {})
        cars[ev.driver] = {"x": ev.x, "y": ev.y, "t": ev.event_time.session_time}
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
            data = {"session_time": t, "cars": cars}
            message = {"kind": "positions", "topic": TELEMETRY.name, "published_at": time.time(),
                       "data": data}  # fmt: skip
            pipe.zadd(SESSIONS, {key: time.time()})
            pipe.publish(live_channel(key), orjson.dumps(message))
            done += 1
        return done
