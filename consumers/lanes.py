"""How a sink's consumers fetch: the live topics fast, the bulk ones slowly, little when idle.

The embedded broker (docs/broker.md) looks through every record batch a partition holds
whenever a fetch finds new data in it, and a fetch whose wait runs out during that search
returns nothing, for that partition and for every one after it in the request. A race's car
telemetry grows to thousands of batches, which a 10 ms fetch cannot search, so a sink that
reads telemetry beside live topics reads it with a second consumer (a second *lane*) that
waits longer; the live topics keep their short wait. Both consumers are members of the sink's
consumer group (each subscribed to its own topics), so offsets stay where they were.

Each lane's consumer is paused between fetches when that saves the broker work:

- a lane with an ``interval`` (the PostgreSQL sink's) that has read all there is pauses for
  that long, so each of its partitions is searched once per interval, not once per event;
- a sink that has read nothing for a while (:class:`core.pacing.IdleClock`) pauses its lanes
  and looks for new data every ``idle_probe`` seconds (a slow lane at least every four of its
  fetch waits), instead of sending a fetch every few milliseconds that the broker answers
  after waiting it out.

librdkafka fetches for a resumed partition only when its broker thread next wakes, up to a
second later; a metadata request wakes it, so each resume sends one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from confluent_kafka import Consumer, Message, TopicPartition

from core.kafka import poll_batch
from core.pacing import IdleClock
from core.settings import Settings
from producers.kafka import BULK_TOPICS


@dataclass(frozen=True)
class Lane:
    """The topics one consumer of a sink reads, and how it fetches them."""

    topics: tuple[str, ...]
    fetch_wait_ms: int
    #: Once it has read all there is, fetch again after this long (0: at once).
    interval_s: float = 0.0


def lanes_for(
    settings: Settings,
    topics: Sequence[str],
    fetch_wait_ms: int | None = None,
    interval_s: float = 0.0,
) -> list[Lane]:
    """``topics`` at ``fetch_wait_ms`` (default: the live wait), with the bulk topics among
    them in a lane of their own at the bulk wait when that is longer."""
    wait = settings.kafka_fetch_wait_ms if fetch_wait_ms is None else fetch_wait_ms
    bulk = tuple(t for t in topics if t in BULK_TOPICS)
    rest = tuple(t for t in topics if t not in BULK_TOPICS)
    slow = max(wait, settings.bulk_fetch_wait_ms)
    if not bulk or slow == wait:
        return [Lane(tuple(topics), wait, interval_s)]
    if not rest:
        return [Lane(bulk, slow, interval_s)]
    return [Lane(rest, wait, interval_s), Lane(bulk, slow, interval_s)]


class LaneConsumer:
    """One lane's consumer, paused and resumed as its lane and the sink's idle clock say."""

    def __init__(
        self,
        consumer: Consumer,
        lane: Lane,
        idle: IdleClock,
        idle_probe_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.consumer = consumer
        self.lane = lane
        self.idle = idle
        #: an idle lane rests this long between looks: a slow lane's look lasts its fetch wait,
        #: so it rests at least four of those (the embedded broker works through the wait)
        self.idle_probe_s = max(idle_probe_s, 4 * lane.fetch_wait_ms / 1000)
        self.clock = clock
        #: a resumed lane waits this long for a fetch to come back before it pauses again
        self.probe_window_s = lane.fetch_wait_ms / 1000 + 0.05
        self.paused_until: float | None = None
        self.resumed_at = clock()
        self.pauses = 0  # how often it paused (tests, figures)

    def poll(self, max_messages: int, timeout: float) -> list[Message]:
        """The messages ready now (waiting up to ``timeout`` for the first), resuming the
        lane first when its pause is over and pausing it after when it should rest."""
        now = self.clock()
        if self.paused_until is not None and now >= self.paused_until:
            self._resume()
        msgs = poll_batch(self.consumer, max_messages, timeout)
        now = self.clock()
        if self.paused_until is not None:
            return msgs  # fetched before the pause (or served callbacks only)
        caught_up = len(msgs) < max_messages
        if msgs and caught_up and self.lane.interval_s > 0:
            self._pause(now + self.lane.interval_s)
        elif not msgs and now - self.resumed_at >= self.probe_window_s and self.idle.idle():
            self._pause(now + self.idle_probe_s)
        return msgs

    def _pause(self, until: float) -> None:
        self.consumer.pause(self.consumer.assignment())
        self.paused_until = until
        self.pauses += 1

    def _resume(self) -> None:
        parts: list[TopicPartition] = self.consumer.assignment()
        self.consumer.resume(parts)
        self.paused_until = None
        self.resumed_at = self.clock()
        if parts:  # wake librdkafka's broker thread: it fetches now, not in up to a second
            self.consumer.list_topics(parts[0].topic, timeout=1.0)
