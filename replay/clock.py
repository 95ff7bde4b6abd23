"""The pacing clock: maps session time to wall time at a chosen speed, with pause/resume.

``speed=None`` means as fast as possible. Pausing stops the clock; resuming shifts the
schedule by the time spent paused, so the replay continues where it was. ``parse_speed``
reads a speed as users write it (``10``, ``10x``, ``max``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


def parse_speed(value: str) -> float | None:
    """'max' -> None (no pacing); '10' or '10x' -> 10.0. ValueError for anything else."""
    v = value.strip().lower()
    if v in ("max", "inf", "0"):
        return None
    try:
        speed = float(v.removesuffix("x"))
    except ValueError:
        raise ValueError(f"{value!r} is not a speed: use a number like 10, or 'max'") from None
    if speed <= 0:
        raise ValueError("speed must be positive, or 'max'")
    return speed


class PacingClock:
    """Wall-clock schedule of a replay starting at session time ``origin``."""

    def __init__(self, origin: float, speed: float | None = None) -> None:
        if speed is not None and speed <= 0:
            raise ValueError("speed must be positive (or None for maximum speed)")
        self.origin = origin
        self.speed = speed
        self._start = time.monotonic()
        self._paused_at: float | None = None
        self._resumed = threading.Event()
        self._resumed.set()

    @property
    def paused(self) -> bool:
        return self._paused_at is not None

    def pause(self) -> None:
        if self._paused_at is None:
            self._paused_at = time.monotonic()
            self._resumed.clear()

    def resume(self) -> None:
        if self._paused_at is not None:
            self._start += time.monotonic() - self._paused_at
            self._paused_at = None
            self._resumed.set()

    def toggle(self) -> None:
        self.resume() if self.paused else self.pause()

    def seek(self, session_time: float) -> None:
        """Continue the schedule from ``session_time`` as of now."""
        self.origin = session_time
        self._start = time.monotonic()

    def due(self, session_time: float) -> float:
        """Wall-clock (monotonic) time at which ``session_time`` is due."""
        if self.speed is None:
            return self._start
        return self._start + (session_time - self.origin) / self.speed

    def lag(self, session_time: float) -> float:
        """Seconds the replay is behind schedule for an event at ``session_time`` (>= 0; 0
        before ``origin``, which is fast-forwarded, not scheduled)."""
        if self.speed is None or self.paused or session_time < self.origin:
            return 0.0
        return max(0.0, time.monotonic() - self.due(session_time))

    def wait_until(
        self,
        session_time: float,
        tick: float = 0.25,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        """Wait until ``session_time`` is due (and while paused), in ``sleep`` calls of at
        most ``tick`` seconds (a publisher's wait serves its delivery acks meanwhile)."""
        while True:
            self._resumed.wait()
            remaining = self.due(session_time) - time.monotonic()
            if remaining <= 0 and not self.paused:
                return
            sleep(min(max(remaining, 0.0), tick))
