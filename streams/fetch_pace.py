"""The worker's fetch wait: short while it has events to read or a race is live, long when idle.

The embedded broker answers a fetch that finds nothing only when its wait is over, looking at
each partition several times meanwhile, so a worker fetching every 10 ms with nothing to read
keeps about a tenth of a core of the broker busy (benchmarks/RESULTS.md). Once the worker has
been idle (:class:`core.pacing.IdleClock`: a few seconds after its sessions are over, or
minutes without an event during one) its consumer asks with the idle wait instead, and the
first event to come back sets the short wait again. aiokafka reads the wait from its fetcher
for every request it builds, so the change takes effect with the next fetch.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson

from core.pacing import IdleClock
from core.settings import Settings
from schemas.topics import SESSION

log = logging.getLogger(__name__)


class FetchPace:
    """Sets the fetch wait of the consumers in ``consumers`` (aiokafka consumers, filled in
    as Faust creates them) from what the worker reads."""

    def __init__(self, live_ms: int, idle_ms: int, clock: IdleClock) -> None:
        self.live_ms = live_ms
        self.idle_ms = idle_ms
        self.clock = clock
        self.consumers: list[Any] = []
        self.wait_ms = live_ms
        self.idle_spells = 0  # how often it went idle (figures, tests)

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchPace:
        clock = IdleClock(settings.idle_after_s, settings.idle_after_live_s)
        return cls(settings.kafka_fetch_wait_ms, settings.idle_fetch_wait_ms, clock)

    def event(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        """The agent took an event: the short wait again if it was idle."""
        session = (key or b"").decode("utf-8", "replace").split(":", 1)[0] or None
        self.clock.event(session, _status(value) if topic == SESSION.name else None)
        if self.wait_ms != self.live_ms:
            self._set(self.live_ms)

    def tick(self) -> None:
        """Called every second or so: the idle wait once the worker is idle."""
        if self.wait_ms != self.idle_ms and self.clock.idle():
            self.idle_spells += 1
            self._set(self.idle_ms)

    def _set(self, wait_ms: int) -> None:
        self.wait_ms = wait_ms
        for consumer in self.consumers:
            fetcher = getattr(consumer, "_fetcher", None)  # made when the consumer starts
            if fetcher is not None and hasattr(fetcher, "_fetch_max_wait_ms"):
                fetcher._fetch_max_wait_ms = wait_ms
            consumer._fetch_max_wait_ms = wait_ms  # for a fetcher made after this


def _status(value: bytes | None) -> str | None:
    """A session event's status, if it is a status change (None for anything else)."""
    try:
        data = orjson.loads(value or b"{}")
    except orjson.JSONDecodeError:
        return None
    return data.get("status") if isinstance(data, dict) and data.get("kind") == "status" else None
