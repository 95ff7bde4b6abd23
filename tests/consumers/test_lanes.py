"""The consume loop's lanes on the real embedded broker: bulk topics read by a second member of
the sink's group at a longer wait, every event read once, and idle lanes paused, still
looking for new data."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterable
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from consumers.lanes import Lane, LaneConsumer, lanes_for
from consumers.loop import DeadLetters, Decoded, consume
from core.pacing import IdleClock
from core.settings import Settings
from producers.kafka import EventProducer
from schemas import EventTime, LapEvent, TelemetryEvent, utcnow
from schemas.topics import LAPS, STRATEGY, TELEMETRY, TIMING
from tests.kafka_utils import consumer_config, end_offsets


def _lap(key: str, n: int) -> LapEvent:
    return LapEvent(
        session_key=key, event_time=EventTime(session_time=n, utc=utcnow()), driver="LEC",
        lap_number=n,
    )  # fmt: skip


def _sample(key: str, n: int) -> TelemetryEvent:
    return TelemetryEvent(
        session_key=key, event_time=EventTime(session_time=n, utc=utcnow()), driver="LEC"
    )


def test_bulk_topics_get_a_lane_of_their_own_unless_the_wait_is_long(stack: Settings) -> None:
    live = lanes_for(stack, [LAPS.name, TELEMETRY.name, STRATEGY.name])
    assert live == [
        Lane((LAPS.name, STRATEGY.name), stack.kafka_fetch_wait_ms),
        Lane((TELEMETRY.name,), stack.bulk_fetch_wait_ms),
    ]
    history = lanes_for(stack, [LAPS.name, TELEMETRY.name], stack.history_fetch_wait_ms, 1.0)
    assert history == [Lane((LAPS.name, TELEMETRY.name), stack.history_fetch_wait_ms, 1.0)]
    assert lanes_for(stack, [TIMING.name]) == [Lane((TIMING.name,), stack.kafka_fetch_wait_ms)]


class Recorder:
    """A sink that keeps what it is given."""

    dead_letters = False

    def __init__(self, group: str, topics: list[str], key: str) -> None:
        self.group, self.topics, self.key = group, topics, key
        self.got: list[tuple[str, int]] = []

    def prepare(self, batch: Iterable[Decoded], dead_letter: DeadLetters) -> list[Any]:
        return [(m.topic(), ev) for m, ev in batch if ev.session_key == self.key]

    def write(self, prepared: list[Any]) -> None:
        self.got += [(topic, int(ev.event_time.session_time)) for topic, ev in prepared]


def test_two_lanes_read_everything_once_and_commit_in_the_sink_group(stack: Settings) -> None:
    key, group = f"lanes-{uuid.uuid4().hex[:8]}", f"test-lanes-{uuid.uuid4().hex[:8]}"
    topics = [LAPS.name, TELEMETRY.name]
    sink = Recorder(group, topics, key)
    ready, stop = threading.Event(), threading.Event()
    loop = threading.Thread(
        target=consume, args=(stack, sink, stop.is_set), kwargs={"on_ready": ready.set}
    )
    loop.start()
    try:
        assert ready.wait(30), "the lanes never got their partitions"
        producer = EventProducer(stack.require_kafka)
        for n in range(30):
            producer.publish(_lap(key, n))
            producer.publish(_sample(key, n))
        producer.flush()
        producer.close()
        deadline = time.monotonic() + 20
        while len(sink.got) < 60 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        loop.join(30)
    assert sorted(sink.got) == sorted((t, n) for t in topics for n in range(30))
    ends = {(t, p): o for t in topics for p, o in end_offsets(t).items() if o > 0}
    c = Consumer(consumer_config(group))
    try:
        committed = c.committed([TopicPartition(t, p) for t, p in ends], timeout=10)
    finally:
        c.close()
    assert {(tp.topic, tp.partition): tp.offset for tp in committed} == ends


def test_an_idle_lane_rests_and_still_finds_the_next_event(stack: Settings) -> None:
    key, group = f"idle-{uuid.uuid4().hex[:8]}", f"test-idle-{uuid.uuid4().hex[:8]}"
    consumer = Consumer(consumer_config(group, **{"auto.offset.reset": "latest"}))
    assigned = threading.Event()
    consumer.subscribe([LAPS.name], on_assign=lambda c, parts: assigned.set())
    idle = IdleClock(0.3, 60.0)
    lane = LaneConsumer(consumer, Lane((LAPS.name,), stack.kafka_fetch_wait_ms), idle, 0.5)
    try:
        while not assigned.is_set():
            lane.poll(100, 0.05)
        start = time.monotonic()
        while lane.paused_until is None and time.monotonic() - start < 5:
            lane.poll(100, 0.05)
        assert lane.paused_until is not None, "idle, the lane never paused"
        producer = EventProducer(stack.require_kafka)
        producer.publish(_lap(key, 1))
        producer.flush()
        producer.close()
        sent = time.monotonic()
        found = []
        while not found and time.monotonic() - sent < 5:
            found = [m for m in lane.poll(100, 0.05) if m.key().startswith(key.encode())]
        waited = time.monotonic() - sent
    finally:
        consumer.close()
    assert found, "the paused lane never looked again"
    assert waited < 0.5 + 0.5, f"found {waited:.2f} s after it was sent"  # a probe, a fetch
    assert lane.pauses >= 1
