"""Strategy updates waiting for the Monte Carlo: sessions take turns, the newest state wins.

The worker's agent must not wait for a Monte Carlo before it takes the next event: the next
car's lap would wait for it, and so would its degradation. So the agent leaves a request here
and goes on, and one runner makes the updates, a batch at a time: the oldest waiting update
of every session, so that with many races at once no session waits behind another's
backlog, and the updates of sessions that arrive together are made together. A request that
finds one of the same session still waiting, at the same leader lap, takes its place: the
newer state includes the older one, and the chart's point for that lap is the same. Each
leader lap keeps an update of its own, and so does each track-status change.

Each request carries the input events it answers for, so that the worker acknowledges them
(lets their offsets be committed) only once the update is sent: a worker killed before that
reads them again.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from strategy.race_state import RaceState


@dataclass
class Request:
    """One strategy update to make: the race state to simulate and what triggered it."""

    session_key: str
    state: RaceState
    trigger: str  # "lap" or "track_status"
    source: Any  # the LapEvent or TrackStatusEvent that triggered it
    laps_total: int | None
    events: list[Any] = field(default_factory=list)  # input events to acknowledge once sent

    def replaces(self, other: Request) -> bool:
        """Whether this request can take the waiting ``other``'s place."""
        return (
            self.trigger == other.trigger == "lap"
            and self.session_key == other.session_key
            and self.state.lap == other.state.lap
        )


class StrategyQueue:
    """Requests per session in arrival order; a request replaces its session's last waiting
    one when it refers to the same leader lap. Sessions take turns: a batch holds the oldest
    waiting request of every session that has one, so one session's backlog never delays
    another's next update by more than a turn."""

    def __init__(self) -> None:
        #: session -> its waiting requests; the dict's order is the order of the turns
        self._waiting: dict[str, deque[Request]] = {}
        self._ready = asyncio.Event()
        self.replaced = 0  # requests whose update a newer one made instead

    def __len__(self) -> int:
        return sum(len(q) for q in self._waiting.values())

    @property
    def sessions(self) -> int:
        """Sessions with a request waiting."""
        return len(self._waiting)

    def put(self, request: Request) -> None:
        waiting = self._waiting.get(request.session_key)
        if waiting and request.replaces(waiting[-1]):
            request.events[:0] = waiting[-1].events
            waiting[-1] = request
            self.replaced += 1
        else:
            self._waiting.setdefault(request.session_key, deque()).append(request)
        self._ready.set()

    def forget(self, session_key: str) -> list[Request]:
        """Drop ``session_key``'s waiting requests (its session ended); returns them."""
        return list(self._waiting.pop(session_key, ()))

    async def _wait(self) -> None:
        while not self._waiting:
            self._ready.clear()
            await self._ready.wait()

    def _take(self, session_key: str) -> Request:
        """The session's oldest request; the session goes to the back of the turns."""
        waiting = self._waiting.pop(session_key)
        request = waiting.popleft()
        if waiting:
            self._waiting[session_key] = waiting
        return request

    async def get(self) -> Request:
        """The next session's oldest waiting request (waits for one)."""
        await self._wait()
        return self._take(next(iter(self._waiting)))

    async def get_batch(self) -> list[Request]:
        """The oldest waiting request of every session with one, in turn (waits for one)."""
        await self._wait()
        return [self._take(key) for key in list(self._waiting)]
