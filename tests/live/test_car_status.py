"""A car that stops takes itself out of the race state: the live feed's flags, end to end.

The 2020 Styrian FP2 TimingData stream flags Vettel ``Stopped`` after his 30th lap. Its events
up to that moment, as the parser makes them, leave him out of the worker's race state, and
through the real stack the Redis writer's tower marks him out with his lap.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import orjson
import pytest
import redis

from core.settings import Settings
from producers.kafka import EventProducer
from producers.live import LiveParser
from producers.live.archive import read_feed
from schemas import Envelope, LapEvent, SessionEvent, StintEvent, TrackStatusEvent
from schemas.live import session_key_name
from strategy.live_state import CarState, SessionState, apply_lap, race_state
from tests.api.conftest import wait_until


def until_stopped(fp2_dir: Path, key: str, driver: str = "VET") -> list[Envelope]:
    """The parser's events of the recording up to ``driver``'s stop."""
    parser = LiveParser(key)
    out: list[Envelope] = []
    for line in read_feed(fp2_dir):
        for e in parser.feed_line(line.text, line.topic):
            out.append(e)
            if (
                e.type == "session"
                and e.kind == "car_status"
                and e.driver == driver
                and (e.car_status == "stopped")
            ):
                return out
    raise AssertionError(f"{driver} never stopped in the recording")


def test_a_stopped_car_leaves_the_race_state(fp2_dir: Path) -> None:
    events = until_stopped(fp2_dir, "2020-styrian-FP2")
    stop = events[-1]
    assert stop.driver == "VET" and stop.lap == 30
    session = SessionState.new("2020-styrian-FP2")
    cars: dict[str, CarState] = {}
    for e in events:
        if isinstance(e, SessionEvent) and e.kind == "car_status" and e.driver:
            cars.setdefault(e.driver, CarState.new(e.driver)).apply_status(e)
        elif isinstance(e, SessionEvent):
            session.apply_session(e)
        elif isinstance(e, TrackStatusEvent):
            session.apply_track_status(e)
        elif isinstance(e, StintEvent):
            cars.setdefault(e.driver, CarState.new(e.driver)).apply_stint(e)
        elif isinstance(e, LapEvent):
            session.add_driver(e.driver)
            apply_lap(session, cars.setdefault(e.driver, CarState.new(e.driver)), e)
    state = race_state(session, cars)
    assert "VET" in state.out
    assert "VET" not in {d.driver for d in state.drivers}
    assert len(state.drivers) >= 15


def test_the_live_tower_marks_it_out(stack: Settings, pipeline: dict, fp2_dir: Path) -> None:
    key = f"test-live-stop-{uuid.uuid4().hex[:8]}"
    producer = EventProducer(stack.require_kafka)
    try:
        for e in until_stopped(fp2_dir, key):
            producer.publish(e)
        producer.flush()
    finally:
        producer.close()
    r = redis.Redis.from_url(stack.require_redis)

    def vet_out() -> bool:
        row = r.hget(session_key_name(key, "standings"), "VET")
        return row is not None and orjson.loads(row).get("status") == "stopped"

    try:
        wait_until(vet_out, 90, f"VET stopped in {key}'s live state", pipeline["services"])
        row = orjson.loads(r.hget(session_key_name(key, "standings"), "VET"))
        assert row["retired"] is True and row["out_lap"] == 30
    finally:
        r.close()
    if not pipeline["worker"]:
        pytest.skip("no stream worker")
