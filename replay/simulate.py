"""Publishing a timeline to Kafka paced by session time: the engine of ``simulate_live``.

The whole timeline is built before the first event is sent, so a bad input publishes
nothing. Events before ``from_lap`` are fast-forwarded (sent at once) so consumers hold the
race state when paced replay begins; ``from_lap=1`` skips the wait before the start (a race's
feed begins about an hour before the lights go out).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from producers.kafka import EventProducer
from replay.clock import PacingClock
from replay.progress import progress_bar
from replay.timeline import Timeline
from schemas import LapEvent, SessionEvent, topic_for


@dataclass
class Summary:
    """What a replay published, per topic, and what it could not use."""

    session_key: str
    published: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    max_lag: float = 0.0
    interrupted: bool = False

    @property
    def total(self) -> int:
        return sum(self.published.values())

    @property
    def events_per_second(self) -> float:
        return self.total / self.seconds if self.seconds else 0.0


def publish_timeline(
    timeline: Timeline,
    producer: EventProducer,
    *,
    speed: float | None = None,
    from_lap: int | None = None,
    session_key: str | None = None,
    progress: bool = False,
    clock: PacingClock | None = None,
) -> Summary:
    """Publish every event of ``timeline`` in order; return the summary once all are acked."""
    if session_key and session_key != timeline.session_key:
        timeline = timeline.with_session_key(session_key)
    events = timeline.events
    start_at = timeline.lap_start_time(from_lap) if from_lap else None
    if from_lap and from_lap > 1 and start_at is None:
        raise ValueError(
            f"--from-lap {from_lap}: the session has no lap {from_lap - 1} to start after "
            f"(total laps: {timeline.total_laps})"
        )
    origin = (
        start_at if start_at is not None else (events[0].event_time.session_time if events else 0.0)
    )
    clock = clock or PacingClock(origin, speed)
    clock.origin, clock.speed = origin, speed
    summary = Summary(timeline.session_key, skipped=Counter(timeline.skipped))
    total_laps = timeline.total_laps or max(
        (e.lap_number for e in events if isinstance(e, LapEvent)), default=0
    )
    leader_lap = 0
    # Only the topics it uses: a lookup auto-creates a missing topic (4 partitions on Tansu).
    producer.warm_up(sorted({topic_for(e).name for e in events}))
    started = time.monotonic()
    bar = progress_bar(
        "lap {task.fields[lap]}/{task.fields[laps]}",
        "{task.completed:,.0f}/{task.total:,.0f} events",
        "lag {task.fields[lag]:.2f}s",
        "{task.fields[state]}",
        enabled=progress,
    )
    try:
        with bar:
            task = bar.add_task(
                timeline.title or timeline.session_key,
                total=len(events),
                lap=0,
                laps=total_laps,
                lag=0.0,
                state="",
            )
            paced = False
            for i, event in enumerate(events):
                t = event.event_time.session_time
                if start_at is None or t >= start_at:
                    if not paced:  # the schedule starts with the first paced event, now
                        clock.seek(origin)
                        paced = True
                    clock.wait_until(t)
                producer.publish(event)
                summary.published[topic_for(event).name] += 1
                if isinstance(event, SessionEvent) and event.current_lap:
                    leader_lap = max(leader_lap, event.current_lap)
                elif isinstance(event, LapEvent):
                    leader_lap = max(leader_lap, event.lap_number)
                if progress and (i % 200 == 0 or i == len(events) - 1 or speed is not None):
                    lag = clock.lag(t)
                    summary.max_lag = max(summary.max_lag, lag)
                    bar.update(
                        task,
                        completed=i + 1,
                        lap=leader_lap,
                        lag=lag,
                        state="[yellow]paused[/]" if clock.paused else "",
                    )
            producer.flush(60)
    except KeyboardInterrupt:
        summary.interrupted = True
        producer.flush(30)
    summary.seconds = time.monotonic() - started
    return summary
