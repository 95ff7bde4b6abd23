"""Kafka client configuration and broker queries shared by every pitwall process.

The embedded broker does not wake a waiting fetch when data arrives and makes a joining
member wait about half the session timeout, so both are short by default (see Settings).
Part of the foundation: it imports nothing of pitwall's but the settings.
"""

from __future__ import annotations

import time
from typing import Any

from core.settings import Settings


def consumer_config(
    settings: Settings,
    group_id: str | None,
    *,
    from_beginning: bool = True,
    **overrides: Any,
) -> dict[str, Any]:
    """A confluent-kafka consumer config for ``group_id`` (None: no group, use assign())."""
    s = settings
    session_ms = s.kafka_session_timeout_ms
    config: dict[str, Any] = {
        "bootstrap.servers": s.require_kafka,
        "auto.offset.reset": "earliest" if from_beginning else "latest",
        "fetch.wait.max.ms": s.kafka_fetch_wait_ms,
        "fetch.min.bytes": 1,
        "session.timeout.ms": session_ms,
        "heartbeat.interval.ms": max(100, session_ms // 10),
        "enable.auto.commit": False,
        "log_level": 3,
    }
    config["group.id"] = group_id or "pitwall-unused"
    config.update(overrides)
    return config


def poll_batch(consumer: Any, max_messages: int, timeout: float) -> list[Any]:
    """The messages ready now (up to ``max_messages``), waiting up to ``timeout`` s for the first.

    ``Consumer.consume(n, timeout)`` waits until it has ``n`` messages or the timeout passed,
    which on a trickle of live events adds about half the timeout to every message; this
    returns as soon as there is something. Error messages are left out.
    """
    first = consumer.poll(timeout)
    if first is None:
        return []
    msgs = [first, *consumer.consume(max_messages - 1, 0)] if max_messages > 1 else [first]
    return [m for m in msgs if not m.error()]


def end_offsets(
    bootstrap: str, topic: str, timeout: float = 10.0, idle: float = 1.0
) -> dict[int, int]:
    """The offset after the last message, for every partition of ``topic``.

    Tansu 0.6 (the embedded broker) answers "latest offset" with the base offset of the
    partition's last record batch + 1, short by the rest of that batch whenever a producer
    sent several records at once. So where that answer is above 0 the last batch is read and
    its last offset taken. A Kafka broker gives the right answer, which the read confirms;
    a partition whose last record no consumer sees (a transaction marker) keeps the answer
    after ``idle`` seconds.
    """
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "pitwall-unused",
            "enable.auto.commit": False,
            "log_level": 3,
        }
    )
    try:
        meta = c.list_topics(topic, timeout=timeout).topics[topic]
        ends = {
            p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)[1]
            for p in meta.partitions
        }
        unread = {p for p, high in ends.items() if high > 0}
        if not unread:
            return ends
        c.assign([TopicPartition(topic, p, ends[p] - 1) for p in unread])
        start = last = time.monotonic()
        while time.monotonic() - start < timeout and time.monotonic() - last < idle:
            batch = c.consume(10_000, 0.05)
            for m in batch:
                if not m.error():
                    ends[m.partition()] = max(ends[m.partition()], m.offset() + 1)
                    unread.discard(m.partition())
            if batch:
                last = time.monotonic()
            elif not unread:
                break  # every last batch read and nothing more in the queue
        return ends
    finally:
        c.close()


def partition_count(bootstrap: str, topic: str, default: int, timeout: float = 10.0) -> int:
    """How many partitions ``topic`` has on the broker (``default`` if it does not exist).

    Lists every topic rather than asking for this one: asking the embedded broker about a
    missing topic creates it, with 4 partitions.
    """
    from confluent_kafka.admin import AdminClient

    topics = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=timeout).topics
    meta = topics.get(topic)
    return len(meta.partitions) if meta is not None and meta.partitions else default
