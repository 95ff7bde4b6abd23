"""What the live parser knows of a session between two messages, and the clock of the feed.

The merged state of every topic (as F1's own client keeps it), the driver list, each car's
lap assembler and stints, the track-status history and what was last published. The topic
handlers (``session_topics``, ``car_topics``, ``telemetry_topics``) read and update it; the
parser (``parser.LiveParser``) adds the entry points on top.

Session time is the archive clock where the feed has one, otherwise seconds since the first
UTC timestamp seen.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from producers.feed_values import as_int
from producers.live.archive import RawMessage
from producers.live.decode import FeedError
from producers.live.laps import DriverLaps
from producers.live.state import merge_delta
from schemas import CarStatus, Envelope, EventTime

US = 1_000_000
DEFAULT_SESSION_KEY = "live"


def to_us(seconds: float) -> int:
    """Seconds -> integer microseconds (the lap assembler's unit)."""
    return round(seconds * US)


def to_s(micros: int | None) -> float | None:
    """Microseconds -> seconds (None stays None)."""
    return None if micros is None else micros / US


def items(container: Any) -> list[tuple[int, Any]]:
    """(index, item) of a list, or of a dict keyed by numbers, in index order."""
    if isinstance(container, list):
        return list(enumerate(container))
    if isinstance(container, dict):
        out = [(as_int(k), v) for k, v in container.items()]
        return sorted((i, v) for i, v in out if i is not None)
    return []


@dataclass
class StintInfo:
    """What the parser knows of one stint of one driver."""

    compound: str | None = None
    new: bool | None = None
    start_laps: int | None = None
    seen_at: float = 0.0
    first_lap: int | None = None
    laps_before: int = 0  # laps on the set before the parser saw the stint (a joined feed)


@dataclass
class DriverState:
    """Per driver: identity, lap assembler, stints and what was last published."""

    number: str
    laps: DriverLaps
    stints: dict[int, StintInfo] = field(default_factory=dict)
    stint_laps: Counter[int] = field(default_factory=Counter)
    published_stints: dict[int, tuple[Any, ...]] = field(default_factory=dict)
    laps_done: int = 0
    status: CarStatus | None = None  # last status published


class ParserState:
    """One session's feed state: merged topics, drivers, cars, clock and counters."""

    def __init__(self, session_key: str | None = None, *, telemetry: bool = True) -> None:
        self.fixed_key = session_key
        self.session_key = session_key or DEFAULT_SESSION_KEY
        self.telemetry = telemetry
        self.state: dict[str, Any] = {}
        self.drivers: dict[str, dict[str, Any]] = {}
        self.cars: dict[str, DriverState] = {}
        self.t0_utc: datetime | None = None
        self.now = 0.0
        self.track: list[tuple[float, str]] = []
        self.messages: Counter[str] = Counter()
        self.events: Counter[str] = Counter()
        #: The session and drivers of the last info event (a new one only when they change).
        self.info_signature: tuple[Any, ...] | None = None
        #: The session status last seen.
        self.last_status: str | None = None

    @property
    def status(self) -> str | None:
        """The session status last seen (Inactive, Started, Finished, Finalised, Ends...)."""
        return self.last_status

    # -- time ------------------------------------------------------------------------------
    def session_time(self, msg: RawMessage) -> float:
        """The session time of a message: its archive clock, its UTC, or the last time seen."""
        if msg.session_time is not None:
            if msg.utc is not None and self.t0_utc is None:
                self.t0_utc = msg.utc - timedelta(seconds=msg.session_time)
            return msg.session_time
        if msg.utc is not None:
            return self.from_utc(msg.utc)
        return self.now

    def from_utc(self, utc: datetime) -> float:
        """The session time of a UTC timestamp (the first one seen fixes the clock)."""
        if self.t0_utc is None:
            self.t0_utc = utc - timedelta(seconds=self.now)
        return (utc - self.t0_utc).total_seconds()

    def at(self, session_time: float, utc: datetime | None = None) -> EventTime:
        if utc is None and self.t0_utc is not None:
            utc = self.t0_utc + timedelta(seconds=session_time)
        return EventTime(session_time=round(session_time, 3), utc=utc)

    # -- state -----------------------------------------------------------------------------
    def merge(self, topic: str, data: Any) -> dict[str, Any]:
        """Merge a message's delta into the topic's state; the merged state."""
        current = self.state.get(topic)
        if not isinstance(data, dict):
            raise FeedError(f"{topic}: payload is {type(data).__name__}, not an object")
        if current is None:
            current = self.state[topic] = {}
        merge_delta(current, data)
        return current

    def car(self, number: str) -> DriverState:
        """The state of a car number (created on first sight)."""
        car = self.cars.get(number)
        if car is None:
            car = self.cars[number] = DriverState(number, DriverLaps(number))
        return car

    def code(self, number: str) -> str:
        """Three-letter code of a car number (the number itself until the driver list came)."""
        info = self.drivers.get(number)
        return str(info.get("Tla") or number) if info else number

    def timing_line(self, number: str) -> dict[str, Any]:
        """The merged TimingData line of a car number ({} before the first)."""
        return ((self.state.get("TimingData") or {}).get("Lines") or {}).get(number) or {}

    def track_codes(self, start: float | None, end: float) -> str | None:
        """FastF1's TrackStatus of a lap: the status at its start and every change in it."""
        codes: list[str] = []
        current = None
        for when, code in self.track:
            if start is not None and when <= start:
                current = code
            elif when <= end:
                if current is not None and current not in codes:
                    codes.append(current)
                current = code
        if current is not None and current not in codes:
            codes.append(current)
        return "".join(codes) or None


#: A topic's handler: merges one message into the state and appends the events it makes true.
Handler = Callable[[ParserState, RawMessage, float, list[Envelope]], None]
