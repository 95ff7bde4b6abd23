"""The sinks on the real embedded services: a real race into PostgreSQL and Redis, twice.

``pitwall sink`` runs as a subprocess, as users run it; the race is published by the replay
path under a session key of its own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import psycopg
import pytest
import redis

from consumers.redis_keys import live_channel, session_key_name
from pitwall.settings import Settings
from producers.kafka import EventProducer
from replay.simulate import publish_timeline
from replay.timeline import build_timeline
from schemas import decode
from schemas.topics import DLQ, LAPS
from tests.kafka_utils import end_offsets, read_since

KEY = "sink-2023-monaco-R"


@pytest.fixture(scope="module")
def sink(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    log = tmp_path_factory.mktemp("sink") / "sink.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pitwall.cli", "sink"],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        env=dict(os.environ),
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while b"sink running" not in log.read_bytes():
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)
    yield log
    os.killpg(proc.pid, signal.SIGTERM)
    assert proc.wait(30) == 0, log.read_text()[-2000:]


def _count(db: str, table: str, key: str) -> int:
    with psycopg.connect(db) as c:
        return c.execute(f"SELECT count(*) FROM {table} WHERE session_key = %s", (key,)).fetchone()[
            0
        ]


def _wait_count(db: str, table: str, key: str, want: int, timeout: float = 90) -> int:
    deadline = time.monotonic() + timeout
    n = -1
    while time.monotonic() < deadline:
        n = _count(db, table, key)
        if n >= want:
            return n
        time.sleep(0.5)
    return n


def test_race_lands_once_even_when_replayed_twice(stack: Settings, sink: Path) -> None:
    timeline = build_timeline(2023, "Monaco").with_session_key(KEY)
    laps = sum(e.type == "lap" for e in timeline.events)
    timing = {(e.driver, e.event_time.session_time, e.position, e.gap_to_leader_text,
               e.interval_text) for e in timeline.events if e.type == "timing"}  # fmt: skip
    db = stack.require_database
    r = redis.Redis.from_url(stack.require_redis)
    pubsub = r.pubsub()
    pubsub.subscribe(live_channel(KEY))
    received: list[dict] = []

    def listen() -> None:
        for m in pubsub.listen():
            if m["type"] == "message":
                received.append(orjson.loads(m["data"]))
            if len(received) >= 5000:
                break

    threading.Thread(target=listen, daemon=True).start()
    publish_timeline(timeline, EventProducer(stack.require_kafka), speed=None)
    assert _wait_count(db, "laps", KEY, laps) == laps == 1515
    assert _wait_count(db, "timing", KEY, len(timing)) == len(timing)

    publish_timeline(timeline, EventProducer(stack.require_kafka), speed=None)
    # The sink has caught up with the second copy when its group has no lag left.
    time.sleep(8)
    assert _count(db, "laps", KEY) == 1515
    assert _count(db, "timing", KEY) == len(timing)
    assert _count(db, "stints", KEY) == sum(e.type == "stint" for e in timeline.events)

    standings = {k.decode(): orjson.loads(v) for k, v in
                 r.hgetall(session_key_name(KEY, "standings")).items()}  # fmt: skip
    drivers = {e.driver for e in timeline.events if e.type == "lap"}
    assert set(standings) >= drivers
    last = {}
    for e in timeline.events:
        if e.type == "lap":
            last[e.driver] = e
    for d, e in last.items():
        assert standings[d]["lap_number"] == e.lap_number
    assert standings["VER"]["position"] == 1
    info = orjson.loads(r.get(session_key_name(KEY, "info")))
    assert info["total_laps"] == 78 and info["event_name"] == "Monaco Grand Prix"

    # Updates arrive in order: per driver, lap numbers never go back within the first copy.
    seen: dict[str, int] = {}
    for m in received:
        if m["kind"] == "standings" and m["data"].get("source") == "lap":
            d, lap = m["data"]["driver"], m["data"]["lap_number"]
            assert lap >= seen.get(d, 0)
            seen[d] = lap
    assert set(seen) == drivers


def test_malformed_message_goes_to_dlq_and_sink_continues(stack: Settings, sink: Path) -> None:
    before = end_offsets(DLQ.name)
    producer = EventProducer(stack.require_kafka)
    producer.publish_raw(LAPS.name, "broken:XXX", b"not json at all")
    good = next(e for e in build_timeline(2023, "Monaco").events if e.type == "lap")
    producer.publish(good.model_copy(update={"session_key": "sink-dlq"}))
    producer.flush()
    assert _wait_count(stack.require_database, "laps", "sink-dlq", 1) == 1
    dlq = [decode(DLQ.name, m.value()) for m in read_since(DLQ.name, before, idle_timeout=3)]
    assert any(d.source == LAPS.name and "broken" in (d.message_key or "") for d in dlq)
