"""Plain confluent-kafka helpers for tests: read a topic from a snapshot of its end offsets.

The embedded broker keeps every test's events in one process-wide topic, so tests record
the end offsets before they act and read only what came after.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from confluent_kafka import Consumer, Message, TopicPartition

from core import kafka
from core.settings import get_settings

__all__ = ["consumer_config", "end_offsets", "read_since"]


def end_offsets(topic: str) -> dict[int, int]:
    """The true end offsets of ``topic`` on the test stack's broker."""
    return kafka.end_offsets(get_settings().require_kafka, topic)


def consumer_config(group_id: str | None, **overrides: object) -> dict[str, object]:
    """The pitwall consumer config for ``group_id`` on the test stack's broker."""
    return kafka.consumer_config(get_settings(), group_id, **overrides)


def read_since(
    topic: str,
    offsets: dict[int, int],
    *,
    until: Callable[[list[Message]], bool] | None = None,
    idle_timeout: float = 3.0,
    max_wait: float = 120.0,
    first_wait: float = 0.0,
) -> list[Message]:
    """Read ``topic`` from ``offsets`` until ``until(msgs)`` is true or nothing new arrives
    (``first_wait``: how long to wait for the first message before the idle timeout counts;
    a broker holding much data can take a while to answer a consumer's first fetch)."""
    c = Consumer(consumer_config(None))
    c.assign([TopicPartition(topic, p, o) for p, o in offsets.items()])
    msgs: list[Message] = []
    start = last = time.monotonic()
    try:
        while time.monotonic() - start < max_wait:
            batch = c.consume(5000, 0.2)
            for m in batch:
                if m.error():
                    continue
                msgs.append(m)
            if batch:
                last = time.monotonic()
            if until is not None and until(msgs):
                break
            waited = time.monotonic() - start
            if (
                until is None
                and (msgs or waited > first_wait)
                and time.monotonic() - last > idle_timeout
            ):
                break
        return msgs
    finally:
        c.close()
