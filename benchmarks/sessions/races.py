"""The races of the many-races benchmark: which ones, cut after ``--laps``, each under a
session key of its own that lands on the partition it should, and the producer that replays
one while noting how far it got and how far behind its pacing it ever was."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from harness import console

from core.settings import get_settings
from producers.kafka import EventProducer
from replay.clock import PacingClock
from replay.timeline import Timeline
from schemas import Envelope, LapEvent

#: 2023 races with a FastF1 cache in ../shared/data, without a long red flag (Australia's
#: three would leave the field parked for minutes of the run), in calendar order.
RACES = (
    "Bahrain",
    "Azerbaijan",
    "Miami",
    "Monaco",
    "Spain",
    "Canada",
    "Austria",
    "Britain",
    "Hungary",
    "Belgium",
    "Netherlands",
    "Italy",
)


class PacedProducer(EventProducer):
    """The replay's producer, noting the leader lap it has published and how far behind the
    pacing schedule it ever was (a replay that cannot keep its speed would flatter the
    worker)."""

    def __init__(self, bootstrap: str, clock: PacingClock) -> None:
        super().__init__(bootstrap)
        self.clock = clock
        self.leader_lap = 0
        self.max_lag = 0.0
        self.done = False

    def publish(self, event: Envelope, *, stamp: bool = True) -> None:
        super().publish(event, stamp=stamp)
        if isinstance(event, LapEvent):
            self.leader_lap = max(self.leader_lap, event.lap_number)
            self.max_lag = max(self.max_lag, self.clock.lag(event.event_time.session_time))


@dataclass
class Race:
    """One race of the run: its timeline (cut after ``--laps``), and in a configuration the
    key it replays under and the copy of the timeline under that key (whose events the
    replay stamps with their ``produced_at``)."""

    name: str
    base: Timeline
    leader_laps: int
    key: str = ""
    timeline: Timeline | None = None
    partition: int = 0
    producer: PacedProducer | None = None
    thread: threading.Thread | None = None

    @property
    def laps(self) -> list[LapEvent]:
        assert self.timeline is not None
        return [e for e in self.timeline.events if isinstance(e, LapEvent)]


def cut(timeline: Timeline, laps: int) -> tuple[Timeline, int]:
    """``timeline`` up to the end of the leader's lap ``laps`` (the events before the first
    lap ``laps + 1`` is completed; 0: all of it) and the leader laps it holds."""
    held = max(e.lap_number for e in timeline.events if isinstance(e, LapEvent))
    end = next(
        (
            e.event_time.session_time
            for e in timeline.events
            if isinstance(e, LapEvent) and e.lap_number == laps + 1
        ),
        None,
    )
    if laps <= 0 or end is None:
        return timeline, held
    events = [e for e in timeline.events if e.event_time.session_time < end]
    return Timeline(timeline.session_key, events, timeline.total_laps, title=timeline.title), laps


def key_on(partition: int, partitions: int, stem: str) -> str:
    """A session key starting with ``stem`` whose events go to ``partition``."""
    from schemas.topics import partition_for

    n = 0
    while partition_for(f"{stem}-{n}", partitions) != partition:
        n += 1
    return f"{stem}-{n}"


def load_races(names: list[str], laps: int) -> list[Race]:
    from replay.timeline import build_timeline

    races = []
    with console.status("loading the races' timelines..."):
        for name in names:
            tl, leader_laps = cut(build_timeline(2023, name, settings=get_settings()), laps)
            races.append(Race(name, tl, leader_laps))
    return races
