"""Which sessions the worker can let go of, so that its memory follows the races that are on.

A session's state (its cars' laps, the track estimate) lives in the worker's tables and in
decoded form in its cache. Once the session is over (its status says the flag has fallen,
``core.pacing.OVER_STATUSES``) and nothing of it has come for ``grace_s`` (the last cars
finish their lap after the flag), or once nothing of it has come for ``stale_s`` (a replay
stopped half-way, a feed that died), the worker drops both: the table rows through the agent
(a table changes only while an event of the same partition is processed, the sessions of a
partition being co-partitioned with it), the cache at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from core.pacing import OVER_STATUSES

#: How long an ended session stays after its last event (the last cars' laps, late weather).
GRACE_S = 60.0
#: How long a session no event came for stays, ended or not.
STALE_S = 6 * 3600.0


class SessionLife:
    """When each session was last heard of, and which are over."""

    def __init__(
        self,
        grace_s: float = GRACE_S,
        stale_s: float = STALE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.grace_s = grace_s
        self.stale_s = stale_s
        self.clock = clock
        self.heard_at: dict[str, float] = {}
        self.over: set[str] = set()

    def heard(self, session_key: str, status: str | None = None) -> None:
        """An event of ``session_key`` (``status``: a session status event's)."""
        self.heard_at[session_key] = self.clock()
        if status in OVER_STATUSES:
            self.over.add(session_key)

    def due(self) -> list[str]:
        """The sessions to let go of now."""
        now = self.clock()
        return [
            key
            for key, at in self.heard_at.items()
            if now - at >= (self.grace_s if key in self.over else self.stale_s)
        ]

    def drop(self, session_key: str) -> None:
        self.heard_at.pop(session_key, None)
        self.over.discard(session_key)
