"""The Kafka clients users reach for, against the embedded broker, with their defaults.

Each of confluent-kafka, aiokafka, kafka-python and kcat (Debian's, through ``pitwall kcat``)
lists the topics and reads every lap of a race ``simulate_live`` replayed, which must all
validate against the topic's schema and come in order per driver. Only the bootstrap address
is configured. The partitions are read from where the replay began to their true end (the
embedded broker's own "latest offset" is short, see ``core.kafka.end_offsets``).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections import defaultdict
from collections.abc import Iterable

import pytest

from core.settings import Settings
from schemas import LapEvent, decode
from schemas.topics import ALL_TOPICS, LAPS
from tests.clients.conftest import Replayed, run_cli
from tests.kafka_utils import end_offsets

TOPICS = {t.name for t in ALL_TOPICS}
DEADLINE_S = 60


def check_laps(monaco: Replayed, messages: Iterable[tuple[bytes, bytes]]) -> None:
    """Every lap of the replay once, valid, keyed ``session:driver``, in order per driver
    (other sessions' laps are left out)."""
    laps = []
    for key, value in messages:
        event = decode(LAPS.name, value)
        if event.session_key == monaco.session_key:
            assert isinstance(event, LapEvent)
            assert key.decode() == f"{monaco.session_key}:{event.driver}"
            laps.append(event)
    assert len(laps) == monaco.laps
    per_driver: dict[str, list[int]] = defaultdict(list)
    for lap in laps:
        per_driver[lap.driver].append(lap.lap_number)
    assert len(per_driver) == 20
    for driver, numbers in per_driver.items():
        assert numbers == sorted(set(numbers)), driver
    assert per_driver["VER"] == list(range(1, 79))


def test_confluent_kafka(stack: Settings, monaco: Replayed) -> None:
    from confluent_kafka import Consumer, TopicPartition
    from confluent_kafka.admin import AdminClient

    listed = AdminClient({"bootstrap.servers": stack.require_kafka}).list_topics(timeout=10)
    assert set(listed.topics) >= TOPICS

    ends = end_offsets(LAPS.name)
    c = Consumer({"bootstrap.servers": stack.require_kafka, "group.id": "test-confluent"})
    c.assign([TopicPartition(LAPS.name, p, o) for p, o in monaco.laps_from.items()])
    values, position = [], dict(monaco.laps_from)
    deadline = time.monotonic() + DEADLINE_S
    try:
        while any(position[p] < ends[p] for p in ends) and time.monotonic() < deadline:
            for m in c.consume(1000, 1.0):
                assert not m.error(), m.error()
                values.append((m.key(), m.value()))
                position[m.partition()] = m.offset() + 1
    finally:
        c.close()
    check_laps(monaco, values)


def test_aiokafka(stack: Settings, monaco: Replayed) -> None:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    ends = end_offsets(LAPS.name)

    async def read() -> tuple[set[str], list[tuple[bytes, bytes]]]:
        c = AIOKafkaConsumer(bootstrap_servers=stack.require_kafka)
        await c.start()
        try:
            topics = await c.topics()
            parts = {p: TopicPartition(LAPS.name, p) for p in monaco.laps_from}
            c.assign(list(parts.values()))
            for p, offset in monaco.laps_from.items():
                c.seek(parts[p], offset)
            values: list[tuple[bytes, bytes]] = []
            deadline = time.monotonic() + DEADLINE_S
            while time.monotonic() < deadline:
                positions = {p: await c.position(tp) for p, tp in parts.items()}
                if all(positions[p] >= ends[p] for p in ends):
                    break
                batches = await c.getmany(timeout_ms=1000)
                values += [(m.key, m.value) for batch in batches.values() for m in batch]
            return topics, values
        finally:
            await c.stop()

    topics, values = asyncio.run(read())
    assert topics >= TOPICS
    check_laps(monaco, values)


def test_kafka_python(stack: Settings, monaco: Replayed) -> None:
    from kafka import KafkaConsumer, TopicPartition

    ends = end_offsets(LAPS.name)
    c = KafkaConsumer(bootstrap_servers=stack.require_kafka)
    try:
        assert c.topics() >= TOPICS
        parts = {p: TopicPartition(LAPS.name, p) for p in monaco.laps_from}
        c.assign(list(parts.values()))
        for p, offset in monaco.laps_from.items():
            c.seek(parts[p], offset)
        values: list[tuple[bytes, bytes]] = []
        deadline = time.monotonic() + DEADLINE_S
        while any(c.position(parts[p]) < ends[p] for p in ends):
            assert time.monotonic() < deadline, f"read {len(values)} laps in {DEADLINE_S} s"
            for batch in c.poll(timeout_ms=1000).values():
                values += [(m.key, m.value) for m in batch]
    finally:
        c.close()
    check_laps(monaco, values)


needs_kcat = pytest.mark.skipif(
    shutil.which("kcat") is None,
    reason="kcat is not installed (`make test` installs Debian's kcat as root; "
    "otherwise `apt-get install kcat`)",
)


@needs_kcat
def test_kcat_lists_topics(stack: Settings) -> None:
    run = run_cli("kcat", "-L", "-J", timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    listed = {t["topic"] for t in json.loads(run.stdout)["topics"]}
    assert listed >= TOPICS


@needs_kcat
def test_kcat_reads_laps(stack: Settings, monaco: Replayed) -> None:
    """kcat -C -e stops at the end of every partition it reads; each message as JSON."""
    run = run_cli("kcat", "-C", "-t", LAPS.name, "-o", "beginning", "-e", "-J", "-q", timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    messages = [json.loads(line) for line in run.stdout.splitlines()]
    mine = [m for m in messages if m["offset"] >= monaco.laps_from[m["partition"]]]
    check_laps(monaco, [(m["key"].encode(), m["payload"].encode()) for m in mine])
