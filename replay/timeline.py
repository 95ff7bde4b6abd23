"""One timeline of a past session: every event FastF1 holds, ordered by session time.

Session status, lap count, completed laps, position/gap/interval updates, stint changes,
track status, race-control messages and weather become schema events (``event_builder``).
Nothing is dropped silently: every row that cannot become an event is counted in
``Timeline.skipped`` with the reason. Built timelines are cached in the state directory, so
a second replay of a race starts at once.
"""

from __future__ import annotations

import logging
import pickle
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from core.settings import Settings
from replay.event_builder import EventBuilder
from replay.fastf1_source import LoadedSession, load_session, resolve_session
from schemas import Envelope, LapEvent, SessionEvent, topic_for

#: Order of events that share a timestamp: state before the laps that depend on it.
_PRIORITY = {
    "session": 0,
    "track_status": 1,
    "race_control": 2,
    "stint": 3,
    "lap": 4,
    "timing": 5,
    "weather": 6,
    "telemetry": 7,
}


@dataclass
class Timeline:
    """A session's events in the order they happened, with what could not be used."""

    session_key: str
    events: list[Envelope]
    total_laps: int | None = None
    skipped: Counter[str] = field(default_factory=Counter)
    title: str = ""

    def __len__(self) -> int:
        return len(self.events)

    def __iter__(self) -> Iterator[Envelope]:
        return iter(self.events)

    def counts(self) -> Counter[str]:
        """Events per topic."""
        return Counter(topic_for(e).name for e in self.events)

    def lap_start_time(self, lap: int) -> float | None:
        """Session time at which the leader started ``lap`` (None if the race never got there).

        Lap 1 starts when the session's status turns ``Started`` (lights out in a race): a
        race's feed begins about an hour earlier, with little but the grid in between.
        """
        if lap < 1:
            return None
        if lap == 1:
            return next(
                (
                    e.event_time.session_time
                    for e in self.events
                    if isinstance(e, SessionEvent) and e.status == "Started"
                ),
                None,
            )
        ends = [
            e.event_time.session_time
            for e in self.events
            if isinstance(e, LapEvent) and e.lap_number == lap - 1
        ]
        return min(ends) if ends else None

    def with_session_key(self, session_key: str) -> Timeline:
        """A copy whose events carry another session key (to replay a race twice side by side)."""
        events = [e.model_copy(update={"session_key": session_key}) for e in self.events]
        return Timeline(session_key, events, self.total_laps, Counter(self.skipped), self.title)

    def sort(self) -> None:
        self.events.sort(key=lambda e: (e.event_time.session_time, _PRIORITY.get(e.type, 9)))


def timeline_of(loaded: LoadedSession, telemetry_every: int = 1) -> Timeline:
    """The timeline of a loaded session: its events in order, with what could not be used."""
    builder = EventBuilder(loaded, telemetry_every)
    events = builder.events()
    ev, ses = loaded.event, loaded.session
    timeline = Timeline(
        loaded.session_key,
        events,
        ses.total_laps if loaded.code in ("R", "S") else None,
        builder.skipped,
        f"{ev.year} {ev.event_name} — {ses.name}",
    )
    timeline.sort()
    return timeline


#: Bumped whenever the events a timeline holds change, so that stale caches are rebuilt.
TIMELINE_FORMAT = 2

log = logging.getLogger(__name__)


def build_timeline(
    year: int,
    event: str,
    session: str = "R",
    *,
    settings: Settings,
    use_cache: bool = True,
    telemetry_every: int = 1,
) -> Timeline:
    """Load a past session and return its events in session-time order.

    Built timelines are kept in the state directory (``timelines/``) keyed by the session's
    cache files, so that a second replay of the same race starts in about a second instead
    of re-parsing FastF1's data. The cache files are still checked for corruption first.
    ``telemetry_every=N`` keeps every Nth car-telemetry sample (sources with telemetry only).
    """
    resolved = resolve_session(year, event, session, settings)
    path = None
    if use_cache and resolved.files:
        every = f"-t{telemetry_every}" if resolved.source == "parquet" else ""
        name = f"{resolved.session_key}-{resolved.fingerprint()}{every}-v{TIMELINE_FORMAT}.pkl"
        path = settings.state_dir / "timelines" / name
        if path.exists():
            try:
                with open(path, "rb") as fh:
                    cached = pickle.load(fh)
                if isinstance(cached, Timeline):
                    return cached
            except Exception as exc:
                log.warning("rebuilding timeline cache %s: %s", path, exc)
    timeline = timeline_of(load_session(year, event, session, settings), telemetry_every)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as fh:
            pickle.dump(timeline, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)
    return timeline
