"""Publishing a timeline to Kafka paced by session time: the engine of ``simulate_live``.

The whole timeline is built before the first event is sent, so a bad input publishes
nothing. Events before ``from_lap`` are fast-forwarded (sent at once) so consumers hold the
race state when paced replay begins; ``from_lap=1`` skips the wait before the start (a race's
feed begins about an hour before the lights go out).

The broker may go away. The replay then holds (its clock paused) until a broker answers
again: the same one, and it goes on where it was (the producer re-sends what was not
acknowledged); a new, empty one (the embedded broker restarted, ``pitwall up``), and it
publishes every event up to the last one it had sent again, at once, so that the consumers
rebuild the session from its start, then resumes paced from its last acknowledged event.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from producers.kafka import Broker, EventProducer, PublishError
from replay.clock import PacingClock
from replay.progress import progress_bar
from replay.timeline import Timeline
from schemas import Envelope, LapEvent, SessionEvent, topic_for


@dataclass
class Summary:
    """What a replay published, per topic, and what it could not use."""

    session_key: str
    published: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    max_lag: float = 0.0
    interrupted: bool = False
    #: times a new (empty) broker answered and the replay published its events again
    restarts: int = 0

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
    # Only the topics it uses (the producer finds their partitions before the clock starts).
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
            show = _Shown(bar, task, clock, summary, total_laps) if progress else None
            _publish_all(events, producer, clock, start_at, origin, summary, show)
    except KeyboardInterrupt:
        summary.interrupted = True
        producer.flush(30)
    summary.seconds = time.monotonic() - started
    return summary


@dataclass
class _Shown:
    """The progress bar of a replay and what it shows."""

    bar: Any
    task: Any
    clock: PacingClock
    summary: Summary
    laps: int
    leader_lap: int = 0

    def update(self, i: int, event: Envelope, every: bool) -> None:
        if isinstance(event, SessionEvent) and event.current_lap:
            self.leader_lap = max(self.leader_lap, event.current_lap)
        elif isinstance(event, LapEvent):
            self.leader_lap = max(self.leader_lap, event.lap_number)
        if every or i % 200 == 0:
            lag = self.clock.lag(event.event_time.session_time)
            self.summary.max_lag = max(self.summary.max_lag, lag)
            state = "[yellow]paused[/]" if self.clock.paused else ""
            self.bar.update(self.task, completed=i + 1, lap=self.leader_lap, lag=lag, state=state)


def _publish_all(
    events: list[Envelope],
    producer: EventProducer,
    clock: PacingClock,
    start_at: float | None,
    origin: float,
    summary: Summary,
    show: _Shown | None,
) -> None:
    """Every event at its time (those before ``start_at`` at once), then every ack; over a
    new broker, from the first event again (those already due go at once)."""
    paced = False
    sent = 0  # events handed to the producer so far (counted in the summary once)
    i = 0
    while True:
        while i < len(events):
            event = events[i]
            t = event.event_time.session_time
            if start_at is None or t >= start_at:
                if not paced:  # the schedule starts with the first paced event, now
                    clock.seek(origin)
                    paced = True
                clock.wait_until(t)
            producer.publish(event)
            if i >= sent:
                summary.published[topic_for(event).name] += 1
                sent = i + 1
            if show is not None:
                show.update(i, event, every=i == len(events) - 1 or clock.speed is not None)
            i += 1
            if _over_new_broker(producer, clock):
                summary.restarts += 1
                i = 0
        try:
            producer.flush(60)
            return
        except PublishError:
            if not _over_new_broker(producer, clock, every=0.0):
                raise
            summary.restarts += 1
            i = 0


def _over_new_broker(producer: EventProducer, clock: PacingClock, every: float = 5.0) -> bool:
    """Whether the producer now publishes to a new, empty broker (it has started over on
    it); while no broker answers, wait with the clock paused."""
    state = producer.broker_state(every)
    if state is Broker.SAME:
        return False
    was_paused = clock.paused
    clock.pause()
    try:
        while state is Broker.DOWN:
            time.sleep(0.2)
            state = producer.broker_state(every=0.0, retry=0.5)
        if state is Broker.NEW:
            producer.reconnect()
    finally:
        if not was_paused:
            clock.resume()
    return state is Broker.NEW
