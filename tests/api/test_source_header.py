"""Every event the stream worker publishes names the input it came from (Kafka header
``pitwall-source``: ``topic/partition/offset``), so one event can be followed across
processes; the input there is a real one of the same session."""

from __future__ import annotations

import pytest
from confluent_kafka import Consumer, TopicPartition

from schemas.topics import DEGRADATION, STRATEGY
from tests.kafka_utils import consumer_config, end_offsets, read_since


def test_worker_outputs_carry_their_source(landed: str, pipeline: dict) -> None:
    if not pipeline["worker"]:
        pytest.skip("no stream worker in this checkout")
    for topic in (STRATEGY.name, DEGRADATION.name):
        start = dict.fromkeys(end_offsets(topic), 0)

        def ours(msgs: list) -> list:
            return [m for m in msgs if (m.key() or b"").decode().startswith(landed)]

        # The fixture waits for the sink's tables; the worker's outputs may still be on the way.
        mine = ours(read_since(topic, start, until=lambda ms: bool(ours(ms)), max_wait=120))
        assert mine, f"no {topic} event of {landed}"
        sources = [dict(m.headers() or []).get("pitwall-source") for m in mine]
        assert all(sources), f"{topic}: events without pitwall-source"
        source_topic, partition, offset = sources[-1].decode().rsplit("/", 2)
        consumer = Consumer(consumer_config(None))
        try:
            consumer.assign([TopicPartition(source_topic, int(partition), int(offset))])
            found = consumer.consume(1, 10)
        finally:
            consumer.close()
        assert found and found[0].key().decode().startswith(landed)
