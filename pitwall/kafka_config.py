"""Client configuration shared by every Kafka consumer of pitwall (confluent-kafka keys).

The embedded broker does not wake a waiting fetch when data arrives and makes a joining
member wait about half the session timeout, so both are short by default (see Settings).
"""

from __future__ import annotations

from typing import Any

from pitwall.settings import Settings, get_settings


def consumer_config(
    group_id: str | None,
    settings: Settings | None = None,
    *,
    from_beginning: bool = True,
    **overrides: Any,
) -> dict[str, Any]:
    """A confluent-kafka consumer config for ``group_id`` (None: no group, use assign())."""
    s = settings or get_settings()
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
