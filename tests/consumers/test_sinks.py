"""The sinks on the real embedded services: a real race into PostgreSQL and Redis, twice.

``pitwall sink --pg-processes 2`` runs as a subprocess, as users run it; the race (2023
Monaco) is published by the replay path under a session key of its own. "Caught up" means the
sink's consumer group has committed every offset published so far: the sinks commit only
after writing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import psycopg
import pytest
import redis
from confluent_kafka import Consumer, TopicPartition
from typer.testing import CliRunner

from consumers.db_schema import SCHEMA, migrate
from consumers.pg_sink import GROUP as PG_GROUP
from consumers.pg_sink import PgWriter
from consumers.redis_state import GROUP as REDIS_GROUP
from consumers.redis_state import TOPICS as REDIS_TOPICS
from consumers.redis_state import StateWriter
from core.settings import Settings
from producers.kafka import EventProducer
from replay.simulate import publish_timeline
from replay.timeline import Timeline, build_timeline
from schemas import Envelope, EventTime, decode, encode
from schemas.fastcodec import decode_fast
from schemas.live import live_channel, session_key_name
from schemas.topics import ALL_TOPICS, DLQ, LAPS
from tests.kafka_utils import consumer_config, end_offsets, read_since

MONACO_LAPS = 1515


def _key(tag: str) -> str:
    return f"sink-{tag}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def monaco(stack: Settings) -> Timeline:
    return build_timeline(2023, "Monaco", settings=stack)


@pytest.fixture(scope="module")
def sink(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    log = tmp_path_factory.mktemp("sink") / "sink.log"
    out = log.open("w")
    proc = subprocess.Popen(
        # Two PostgreSQL sink processes share the partitions: every row must still land once.
        [sys.executable, "-m", "pitwall.cli", "sink", "--pg-processes", "2"],
        stdout=out,
        stderr=subprocess.STDOUT,
        env=dict(os.environ),
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while b"sink ready" not in log.read_bytes():
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    yield log
    os.killpg(proc.pid, signal.SIGTERM)
    code = proc.wait(30)
    out.close()
    assert code == 0, log.read_text()[-2000:]
    text = log.read_text()
    assert "sink stopped" in text and "pg[0]: " in text and "pg[1]: " in text, text[-2000:]


def _all_ends(topics: list[str]) -> dict[tuple[str, int], int]:
    """End offsets of the partitions that hold something (empty ones have nothing to commit)."""
    return {(t, p): o for t in topics for p, o in end_offsets(t).items() if o > 0}


def _wait_caught_up(group: str, ends: dict[tuple[str, int], int], log: Path) -> None:
    """Until ``group`` has committed at least ``ends`` on every partition (max 90 s)."""
    c = Consumer(consumer_config(group))  # committed() reads offsets; it joins no group
    try:
        deadline = time.monotonic() + 90
        while True:
            done = c.committed([TopicPartition(t, p) for t, p in ends], timeout=10)
            behind = [tp for tp in done if tp.offset < ends[(tp.topic, tp.partition)]]
            if not behind:
                return
            assert time.monotonic() < deadline, f"{group} behind on {behind}\n{log.read_text()}"
            time.sleep(0.2)
    finally:
        c.close()


def _apply(writer: StateWriter, topic: str, event: Envelope, pipe: object) -> None:
    """What the consume loop hands the writer: the event as decoded from its bytes."""
    raw = encode(event)
    writer.apply(topic, decode_fast(topic, raw), raw, pipe)


def _count(db: str, table: str, key: str) -> int:
    with psycopg.connect(db) as c:
        q = f"SELECT count(*) FROM {table} WHERE session_key = %s"
        return c.execute(q, (key,)).fetchone()[0]


def test_race_lands_once_even_when_replayed_twice(
    stack: Settings, sink: Path, monaco: Timeline
) -> None:
    key = _key("monaco")
    timeline = monaco.with_session_key(key)
    events = timeline.events
    drivers = {e.driver for e in events if e.type == "lap"}
    laps_of = {d: [e.lap_number for e in events if e.type == "lap" and e.driver == d]
               for d in drivers}  # fmt: skip
    db, topics = stack.require_database, [t.name for t in ALL_TOPICS]
    r = redis.Redis.from_url(stack.require_redis)
    pubsub = r.pubsub()
    pubsub.subscribe(live_channel(key))
    assert pubsub.get_message(timeout=5)["type"] == "subscribe"
    received: list[dict] = []

    def listen() -> None:
        with contextlib.suppress(redis.ConnectionError, ValueError):  # closed at the end
            for m in pubsub.listen():
                if m["type"] == "message":
                    received.append(orjson.loads(m["data"]))

    threading.Thread(target=listen, daemon=True).start()

    publish_timeline(timeline, EventProducer(stack.require_kafka), speed=None)
    _wait_caught_up(PG_GROUP, _all_ends(topics), sink)
    assert _count(db, "laps", key) == MONACO_LAPS
    timing = {(e.driver, e.event_time.session_time, e.position, e.gap_to_leader_text,
               e.interval_text) for e in events if e.type == "timing"}  # fmt: skip
    with psycopg.connect(db) as c:
        rows = c.execute(
            "SELECT driver, session_time, position, gap_to_leader_text, interval_text "
            "FROM timing WHERE session_key = %s",
            (key,),
        ).fetchall()
    assert len(rows) == len(timing) and set(rows) == timing

    publish_timeline(timeline, EventProducer(stack.require_kafka), speed=None)
    _wait_caught_up(PG_GROUP, _all_ends(topics), sink)
    _wait_caught_up(REDIS_GROUP, _all_ends(REDIS_TOPICS), sink)
    tables = [("laps", "lap"), ("stints", "stint"), ("track_status", "track_status"),
              ("race_control", "race_control"), ("session_events", "session")]  # fmt: skip
    for topic, kind in tables:
        assert _count(db, topic, key) == sum(e.type == kind for e in events), topic
    assert _count(db, "timing", key) == len(timing)

    # Redis: every driver, on his last lap, in his final place (latest lap/timing placing).
    standings = {k.decode(): orjson.loads(v) for k, v in
                 r.hgetall(session_key_name(key, "standings")).items()}  # fmt: skip
    assert set(standings) == drivers
    final: dict[str, tuple[float, int]] = {}
    for e in events:
        placed = e.type in ("lap", "timing") and e.position is not None
        if placed and e.event_time.session_time >= final.get(e.driver, (float("-inf"), 0))[0]:
            final[e.driver] = (e.event_time.session_time, e.position)
    assert {d: s["position"] for d, s in standings.items()} == {d: p for d, (_, p) in final.items()}
    assert all(standings[d]["lap_number"] == laps_of[d][-1] for d in drivers)
    assert standings["VER"]["position"] == 1 and standings["VER"]["team"] == "Red Bull Racing"
    info = orjson.loads(r.get(session_key_name(key, "info")))
    assert info["total_laps"] == 78 and info["event_name"] == "Monaco Grand Prix"
    assert len(info["drivers"]) == 20 and info["status"]
    assert r.zscore("pitwall:sessions", key) is not None

    # Pub/sub: each driver's lap updates arrive in lap order, all of them; of the second
    # copy only the last lap (older laps do not move a standings row back).
    def lap_updates(d: str) -> list[int]:
        return [m["data"]["lap_number"] for m in list(received)
                if m["kind"] == "standings" and m["data"].get("source") == "lap"
                and m["data"]["driver"] == d]  # fmt: skip

    deadline = time.monotonic() + 20  # Redis has published everything; the listener reads
    while time.monotonic() < deadline and any(
        len(lap_updates(d)) < len(laps_of[d]) + 1 for d in drivers
    ):
        time.sleep(0.1)
    for d in drivers:
        assert lap_updates(d) == [*laps_of[d], laps_of[d][-1]], d
    assert all("produced_at" in m["data"] for m in received)
    pubsub.close()


def test_malformed_message_goes_to_dlq_and_sink_continues(
    stack: Settings, sink: Path, monaco: Timeline
) -> None:
    key = _key("dlq")
    before = end_offsets(DLQ.name)
    producer = EventProducer(stack.require_kafka)
    producer.publish_raw(LAPS.name, f"{key}:XXX", b"not json at all")
    producer.publish_raw(LAPS.name, f"{key}:YYY", b'{"type": "lap", "driver": "YYY"}')
    laps = [e for e in monaco.events if e.type == "lap"][:3]
    # Valid, but its time (1970 + 1e300 s, no UTC) fits no timestamp: it must not stop the sink.
    far = laps[0].model_copy(
        update={"session_key": key, "event_time": EventTime(session_time=1e300)}
    )
    producer.publish_raw(LAPS.name, f"{key}:ZZZ", encode(far))
    for e in laps:
        producer.publish(e.model_copy(update={"session_key": key}))
    producer.flush()
    _wait_caught_up(PG_GROUP, _all_ends([LAPS.name]), sink)
    assert _count(stack.require_database, "laps", key) == 3
    dlq = [decode(DLQ.name, m.value()) for m in read_since(DLQ.name, before, idle_timeout=3)]
    # (A worker running in this test session derives features from the far lap, with its
    # time: the sink dead-letters those too, with f1.features.v1 etc. as their source.)
    mine = {d.message_key: d for d in dlq if key in (d.message_key or "") and d.source == LAPS.name}
    assert set(mine) == {f"{key}:XXX", f"{key}:YYY", f"{key}:ZZZ"}
    assert all(d.offset is not None for d in mine.values())
    assert "invalid JSON" in mine[f"{key}:XXX"].reason
    assert "lap_number" in mine[f"{key}:YYY"].reason
    assert "no laps row can hold it" in mine[f"{key}:ZZZ"].reason


def test_write_path_is_idempotent_and_partitioned(stack: Settings, monaco: Timeline) -> None:
    key = _key("writer")
    laps = [e.model_copy(update={"session_key": key}) for e in monaco.events if e.type == "lap"]
    with psycopg.connect(stack.require_database, autocommit=True) as conn:
        assert migrate(conn) is False  # embedded PostgreSQL has no timescaledb
        migrate(conn)  # idempotent
        writer = PgWriter(conn)
        assert writer.write({LAPS.name: laps[:100]}) == {"laps": 100}  # fast path
        assert writer.write({LAPS.name: laps[:100]}) == {"laps": 0}  # all duplicates
        assert writer.write({LAPS.name: laps[50:300]}) == {"laps": 200}  # overlap
        assert writer.count("laps", key) == 300
        kinds = dict(
            conn.execute(
                "SELECT c.relname, p.partstrat FROM pg_partitioned_table p "
                "JOIN pg_class c ON c.oid = p.partrelid"
            ).fetchall()
        )
        assert {t.name for t in SCHEMA.values()} <= set(kinds)
        assert set(kinds.values()) == {"r"}  # range partitioning
        where = conn.execute(
            "SELECT DISTINCT tableoid::regclass::text FROM laps WHERE session_key = %s", (key,)
        ).fetchall()
        assert where == [("laps_2023",)]


def test_sink_rejects_a_bad_option(stack: Settings) -> None:
    from pitwall.cli import app

    result = CliRunner().invoke(app, ["sink", "--only", "kafka"])
    assert result.exit_code == 2
    assert "use 'pg' or 'redis'" in result.output


def test_redis_keeps_latest_strategy_one_history_point_per_lap_and_degradation(
    stack: Settings, monaco: Timeline
) -> None:
    from schemas.derived import DegradationEvent, DriverStrategy, StrategyEvent
    from schemas.topics import DEGRADATION, STRATEGY, TRACK_STATUS

    key = _key("state")
    r = redis.Redis.from_url(stack.require_redis)
    writer = StateWriter(r)
    lap = next(e for e in monaco.events if e.type == "lap")
    status = next(e for e in monaco.events if e.type == "track_status")

    def strategy(lap_no: int, win: float) -> StrategyEvent:
        recs = [DriverStrategy(driver="VER", win_prob=win, podium_prob=0.9),
                DriverStrategy(driver="ALO", win_prob=1 - win, podium_prob=0.8)]  # fmt: skip
        return StrategyEvent(session_key=key, event_time=lap.event_time, lap=lap_no,
                             recommendations=recs)  # fmt: skip

    degradation = DegradationEvent(session_key=key, event_time=lap.event_time, driver="VER",
                                   lap_number=1, slope=0.05, slope_std=0.01,
                                   predicted_laps=[78.1, 78.2])  # fmt: skip
    track = status.model_copy(update={"session_key": key})
    updates = [(STRATEGY.name, strategy(1, 0.5)), (STRATEGY.name, strategy(1, 0.6)),
               (STRATEGY.name, strategy(2, 0.75)), (DEGRADATION.name, degradation),
               (TRACK_STATUS.name, track)]  # fmt: skip
    pipe = r.pipeline(transaction=False)
    for topic, event in updates:
        _apply(writer, topic, event, pipe)
    pipe.execute()
    history = [orjson.loads(p) for p in r.lrange(session_key_name(key, "strategy_history"), 0, -1)]
    podium = {"VER": 0.9, "ALO": 0.8}
    assert history == [{"lap": 1, "win": {"VER": 0.6, "ALO": 0.4}, "podium": podium},
                       {"lap": 2, "win": {"VER": 0.75, "ALO": 0.25}, "podium": podium}]  # fmt: skip
    assert orjson.loads(r.get(session_key_name(key, "strategy")))["lap"] == 2
    deg = orjson.loads(r.hget(session_key_name(key, "degradation"), "VER"))
    assert deg["predicted_laps"] == [78.1, 78.2] and deg["source_produced_at"] is None
    assert orjson.loads(r.get(session_key_name(key, "track_status")))["state"] == status.state


@pytest.mark.parametrize("late", ["stint after its laps", "in-lap after the next stint"])
def test_redis_standings_keep_the_newest_tyres_whatever_topic_comes_first(
    stack: Settings, monaco: Timeline, late: str
) -> None:
    """Laps and stints come on different topics: Alonso's pit stops at 2023 Monaco (laps 54-55,
    onto intermediates for lap 56) delivered out of order still end on the newest tyres."""
    key = _key("tyres")
    alo = [e for e in monaco.with_session_key(key).events if getattr(e, "driver", "") == "ALO"]
    laps = {e.lap_number: e for e in alo if e.type == "lap"}
    stints = {e.stint: e for e in alo if e.type == "stint"}
    if late == "stint after its laps":
        order = [laps[54], stints[2], laps[55], laps[56], laps[57], laps[58], stints[3]]
    else:
        order = [laps[54], stints[2], stints[3], laps[55], laps[56], laps[57], laps[58]]
    r = redis.Redis.from_url(stack.require_redis)
    writer = StateWriter(r)
    pipe = r.pipeline(transaction=False)
    seen = []
    for event in order:
        _apply(writer, f"f1.{event.type}s.v1", event, pipe)
        pipe.execute()
        row = orjson.loads(r.hget(session_key_name(key, "standings"), "ALO"))
        seen.append((row["stint"], row["compound"], row["tyre_age"]))
    assert seen[-1] == (3, "INTERMEDIATE", 3.0)
    if late == "in-lap after the next stint":  # the in-lap never put the old tyres back
        assert seen[3] == (3, "INTERMEDIATE", 0)
