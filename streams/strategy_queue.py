"""Strategy updates waiting for the Monte Carlo: one runs at a time, the newest state wins.

The worker's agent must not wait for a Monte Carlo before it takes the next event: the next
car's lap would wait for it, and so would its degradation. So the agent leaves a request here
and goes on, and one runner makes the updates in order. A request that finds one of the same
session still waiting, at the same leader lap, takes its place: the newer state includes the
older one, and the chart's point for that lap is the same. Each leader lap keeps an update of
its own, and so does each track-status change.

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
    """Requests in arrival order; a request replaces the same session's last waiting one
    when it refers to the same leader lap."""

    def __init__(self) -> None:
        self._waiting: deque[Request] = deque()
        self._ready = asyncio.Event()
        self.replaced = 0  # requests whose update a newer one made instead

    def __len__(self) -> int:
        return len(self._waiting)

    def put(self, request: Request) -> None:
        for i in range(len(self._waiting) - 1, -1, -1):
            last = self._waiting[i]
            if last.session_key != request.session_key:
                continue
            if request.replaces(last):
                request.events[:0] = last.events
                self._waiting[i] = request
                self.replaced += 1
                self._ready.set()
                return
            break
        self._waiting.append(request)
        self._ready.set()

    async def get(self) -> Request:
        """The oldest waiting request (waits for one)."""
        while not self._waiting:
            self._ready.clear()
            await self._ready.wait()
        return self._waiting.popleft()
