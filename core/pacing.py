"""When a consumer may fetch at its idle pace instead of its live one.

On the embedded broker a consumer waiting for data costs CPU for every fetch it sends, even
with nothing to read (the broker answers an empty fetch only when its wait is over, looking
again at each partition several times meanwhile), so a consumer that has read nothing for a
while fetches less often. How long "a while" is depends on whether a race is on: between the
laps of a live race the worker's topics can be quiet for tens of seconds, and the first lap
after such a lull must not wait for a slow fetch; once the sessions it saw are over, a few
seconds of quiet are enough.

A session counts as live from any event of it until its status says it is over (or nothing
of it came for ``live_after`` seconds: a replay stopped half-way never says so). Part of the
foundation: plain values in, a verdict out; the consumers feed it what they read.
"""

from __future__ import annotations

import time
from collections.abc import Callable

#: Session statuses (``SessionEvent.status``) after which a session's race is over: the flag
#: (``Finished``), then the feed's last words. Laps of cars still finishing may follow.
OVER_STATUSES = frozenset({"Finished", "Finalised", "Ends"})


class IdleClock:
    """Whether a consumer has been idle long enough to fetch at its idle pace: no event for
    ``quiet_after`` seconds with no session live, or for ``live_after`` seconds while one is."""

    def __init__(
        self,
        quiet_after: float,
        live_after: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.quiet_after = quiet_after
        self.live_after = live_after
        self.clock = clock
        self.last_event = clock()
        #: session -> when its last event came, for sessions not over
        self.live: dict[str, float] = {}
        #: session -> when it was seen to be over (kept ``live_after`` s: late laps)
        self.over: dict[str, float] = {}

    def event(self, session_key: str | None = None, status: str | None = None) -> None:
        """One event was read (of ``session_key``; ``status`` if it is a session status)."""
        now = self.last_event = self.clock()
        if session_key is None:
            return
        if status in OVER_STATUSES:
            self.live.pop(session_key, None)
            self.over[session_key] = now
        elif session_key not in self.over:
            self.live[session_key] = now

    def any_live(self) -> bool:
        """Whether a session is live (and forget those long quiet or long over)."""
        now = self.clock()
        for book in (self.live, self.over):
            for key in [k for k, t in book.items() if now - t >= self.live_after]:
                del book[key]
        return bool(self.live)

    def idle(self) -> bool:
        """Whether nothing has been read for long enough to fetch at the idle pace."""
        quiet = self.clock() - self.last_event
        return quiet >= self.quiet_after and (quiet >= self.live_after or not self.any_live())
