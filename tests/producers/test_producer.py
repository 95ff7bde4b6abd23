"""The producer on the real embedded broker: bulk topics linger into few record batches, the
others go at once, and every event is delivered either way."""

from __future__ import annotations

import time
import uuid
from collections import Counter

import orjson

from core.settings import Settings
from producers.kafka import BULK_TOPICS, EventProducer
from schemas import EventTime, LapEvent, TelemetryEvent, utcnow
from schemas.topics import LAPS, TELEMETRY
from tests.kafka_utils import end_offsets, read_since


def _time(t: float) -> EventTime:
    return EventTime(session_time=t, utc=utcnow())


def test_telemetry_lingers_into_few_batches_and_laps_go_at_once(stack: Settings) -> None:
    assert TELEMETRY.name in BULK_TOPICS and LAPS.name not in BULK_TOPICS
    key = f"bulk-{uuid.uuid4().hex[:8]}"
    batches: Counter[str] = Counter()

    def stats(raw: str) -> None:  # librdkafka's statistics: record batches sent per topic
        for topic, s in orjson.loads(raw)["topics"].items():
            batches[topic] += s["batchcnt"]["cnt"]

    before = {t: end_offsets(t) for t in (TELEMETRY.name, LAPS.name)}
    producer = EventProducer(
        stack.require_kafka, **{"statistics.interval.ms": 100, "stats_cb": stats}
    )
    producer.warm_up([TELEMETRY.name, LAPS.name])
    for i in range(40):  # 40 samples and 40 laps, 5 ms apart: 200 ms, as a paced replay
        producer.publish(TelemetryEvent(session_key=key, event_time=_time(i), driver="VER"))
        producer.publish(
            LapEvent(session_key=key, event_time=_time(i), driver="VER", lap_number=i + 1)
        )
        producer.poll(0)
        time.sleep(0.005)
    producer.flush()
    time.sleep(0.3)  # a last statistics report
    producer.poll(0.1)
    producer.close()
    assert batches[LAPS.name] >= 20, batches  # each lap on its way at once
    assert batches[TELEMETRY.name] <= 3, batches  # the samples gathered
    for topic in (TELEMETRY.name, LAPS.name):
        got = read_since(topic, before[topic], until=lambda m: len(m) >= 40, idle_timeout=5)
        mine = [m for m in got if (m.key() or b"").startswith(key.encode())]
        assert len(mine) == 40, topic
