"""The live publisher over a broker that dies: a broker of its own (the embedded Tansu, memory
storage) is killed with SIGKILL halfway through a real recording and a new, empty one is
started on the same port with the topics, as ``pitwall up`` does. The publisher tells the new
broker from the old (its cluster id), publishes its archive again through a fresh parser and
goes on: the new broker then holds every lap of the recording once, as the undamaged feed
makes them, though half of them were published to the dead broker only."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from pitwall.embedded.base import free_port
from pitwall.embedded.kafka import TansuBroker
from producers.admin import create_topics
from producers.kafka import EventProducer
from producers.live import LiveParser
from producers.live.archive import read_feed
from producers.live.publisher import LivePublisher
from schemas import decode
from tests.live.test_parser_fuzz import LINES, play

pytestmark = pytest.mark.integration

LAPS = "f1.laps.v1"


def laps_on(bootstrap: str, session: str) -> list[tuple[str, int]]:
    """(driver, lap) of every lap event of ``session`` on the broker, in offset order."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"t-{uuid.uuid4().hex}",
                         "enable.auto.commit": False, "log_level": 0})  # fmt: skip
    try:
        parts = consumer.list_topics(LAPS, timeout=10).topics[LAPS].partitions
        consumer.assign([TopicPartition(LAPS, p, 0) for p in parts])
        out, last = [], time.monotonic()
        while time.monotonic() - last < 3.0:
            for m in consumer.consume(5000, 0.2):
                if m.error() is None:
                    last = time.monotonic()
                    lap = decode(LAPS, m.value())
                    if lap.session_key == session:
                        out.append((lap.driver, lap.lap_number))
        return out
    finally:
        consumer.close()


def test_a_new_broker_gets_the_whole_archive_again(fp2_dir: Path, tmp_path: Path) -> None:
    feed = list(read_feed(fp2_dir))[:LINES]
    session = f"test-live-restart-{uuid.uuid4().hex[:6]}"
    port = free_port()
    first = TansuBroker(tmp_path / "first", port)
    url = first.start()
    second = TansuBroker(tmp_path / "second", port)
    try:
        create_topics(url, 1)
        producer = EventProducer(url, log_level=0)
        publisher = LivePublisher(producer, LiveParser(session))
        half = len(feed) // 2
        for line in feed[:half]:
            publisher.handle_line(line.text, line.topic)
        producer.flush(30)
        before = laps_on(url, session)
        assert len(before) > 10  # laps the first broker had, and loses

        assert first.proc is not None
        os.kill(first.proc.pid, signal.SIGKILL)
        first.proc.wait(10)
        second.start()
        create_topics(url, 1)
        time.sleep(6)  # the producer asks its broker's id at most every 5 s while connected
        for line in feed[half:]:
            publisher.handle_line(line.text, line.topic)
        stats = publisher.finish()
        producer.close()

        assert stats.restarts == 1
        stored = laps_on(url, session)
        twice = [k for k, n in Counter(stored).items() if n > 1]
        assert not twice, twice
        expected = Counter((lap.driver, lap.lap_number) for lap in play(feed).of(LAPS))
        assert Counter(stored) == expected
        assert set(before) <= set(stored)
        assert stats.published[LAPS] == len(expected)  # each input counted once
    finally:
        second.stop()
        first.stop()
