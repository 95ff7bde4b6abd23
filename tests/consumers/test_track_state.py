"""The Redis writer's battles and car positions, on the real embedded Redis: real 2025
Australia telemetry samples are thinned to one write per session and interval, and published
on the live channel with kind ``positions``; a battle forecast is kept and published."""

from __future__ import annotations

import uuid

import orjson
import pandas as pd
import redis

from consumers.redis_state import TOPICS, StateWriter
from core.settings import Settings
from schemas import BattlePair, BattlesEvent, EventTime, TelemetryEvent, encode
from schemas.live import live_channel, session_key_name


def _samples(data_dir, key: str, n: int) -> list[TelemetryEvent]:
    out = []
    for number, driver in (("1", "VER"), ("4", "NOR")):
        tel = pd.read_parquet(data_dir / f"telemetry/aus2025/telemetry/Race/{number}.parquet")
        for row in tel.iloc[5000 : 5000 + n].itertuples():
            out.append(
                TelemetryEvent(
                    session_key=key,
                    event_time=EventTime(session_time=row.SessionTime.total_seconds()),
                    driver=driver,
                    speed=row.Speed,
                    x=row.X,
                    y=row.Y,
                )
            )
    return sorted(out, key=lambda e: e.event_time.session_time)


def _messages(pubsub) -> list[dict]:
    out = []
    while (m := pubsub.get_message(timeout=0.2)) is not None:
        if m["type"] == "message":
            out.append(orjson.loads(m["data"]))
    return out


def test_positions_are_throttled_and_published(stack: Settings) -> None:
    assert "f1.telemetry.v1" in TOPICS and "f1.battles.v1" in TOPICS
    key = f"2025-australian-R-pos{uuid.uuid4().hex[:6]}"
    r = redis.Redis.from_url(stack.require_redis)
    pubsub = r.pubsub()
    pubsub.subscribe(live_channel(key))
    pubsub.get_message(timeout=1)
    writer = StateWriter(r)
    samples = _samples(stack.data_dir, key, 50)
    now = 1000.0
    flushed = 0
    for i, ev in enumerate(samples):
        pipe = r.pipeline(transaction=False)
        writer.apply("f1.telemetry.v1", ev, encode(ev), pipe)
        flushed += writer.positions.flush(pipe, now=now + i * 0.01)  # 100 samples a second
        pipe.execute()
    # One write per 0.2 s: 100 samples over ~1 s give 5 or 6 position updates, not 100.
    assert 4 <= flushed <= 6
    msgs = [m for m in _messages(pubsub) if m["kind"] == "positions"]
    assert len(msgs) == flushed
    last_ver = [e for e in samples if e.driver == "VER"][-1]
    pipe = r.pipeline(transaction=False)
    writer.positions.flush(pipe, force=True)
    pipe.execute()
    stored = {
        k.decode(): orjson.loads(v)
        for k, v in r.hgetall(session_key_name(key, "positions")).items()
    }
    assert set(stored) == {"VER", "NOR"}
    assert (stored["VER"]["x"], stored["VER"]["y"]) == (last_ver.x, last_ver.y)
    assert all(set(m["data"]["cars"]) <= {"VER", "NOR"} for m in msgs)
    # A sample without a position (car data only) changes nothing.
    bare = samples[0].model_copy(update={"x": None, "y": None})
    assert writer.positions.add(bare) is False


def test_battles_kept_and_published(stack: Settings) -> None:
    key = f"2023-monaco-R-bat{uuid.uuid4().hex[:6]}"
    r = redis.Redis.from_url(stack.require_redis)
    pubsub = r.pubsub()
    pubsub.subscribe(live_channel(key))
    pubsub.get_message(timeout=1)
    writer = StateWriter(r)
    pair = BattlePair(position=2, ahead="VER", behind="ALO", gap=0.8, drs=True,
                      p_pass_1=0.01, p_pass_3=0.03, p_pass_5=0.05)  # fmt: skip
    for lap in (10, 11):
        ev = BattlesEvent(session_key=key, event_time=EventTime(session_time=lap * 80.0),
                          lap=lap, pairs=[pair])  # fmt: skip
        pipe = r.pipeline(transaction=False)
        writer.apply("f1.battles.v1", ev, encode(ev), pipe)
        pipe.execute()
    assert orjson.loads(r.get(session_key_name(key, "battles")))["lap"] == 11
    msgs = [m for m in _messages(pubsub) if m["kind"] == "battles"]
    assert [m["data"]["lap"] for m in msgs] == [10, 11]
    assert msgs[0]["data"]["pairs"][0]["behind"] == "ALO"


def test_positions_left_over_are_written_once_the_telemetry_stops(stack: Settings) -> None:
    """The consume loop writes only batches with messages: the Redis sink writes the positions
    still pending on an empty poll."""
    import time

    from consumers.redis_state import RedisSink

    class Message:  # what the loop hands over beside each decoded event
        def __init__(self, ev: TelemetryEvent) -> None:
            self._raw = encode(ev)

        def topic(self) -> str:
            return "f1.telemetry.v1"

        def value(self) -> bytes:
            return self._raw

    key = f"2025-australian-R-idle{uuid.uuid4().hex[:6]}"
    r = redis.Redis.from_url(stack.require_redis)
    sink = RedisSink(r)
    first, second = [e for e in _samples(stack.data_dir, key, 2) if e.driver == "VER"]
    assert (first.x, first.y) != (second.x, second.y)  # the car moved between the samples

    def stored() -> tuple[float, float]:
        row = orjson.loads(r.hget(session_key_name(key, "positions"), "VER"))
        return row["x"], row["y"]

    for ev in (first, second):  # two batches within 0.2 s: the second is held back
        sink.prepare([(Message(ev), ev)], lambda *a: None).execute()
    assert stored() == (first.x, first.y)
    time.sleep(0.25)
    sink.prepare([], lambda *a: None)  # an empty poll: the loop would write nothing
    assert stored() == (second.x, second.y)
    r.close()
