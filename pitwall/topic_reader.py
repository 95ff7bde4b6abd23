"""Reading one topic as ``pitwall tail`` shows it: its last events, or all, then new ones.

A consumer without a group (``assign``), so that looking at a topic never moves anyone's
offsets. With a session, only that session's partition is read (every producer of pitwall
puts a session on ``partition_for(session_key, partitions)``) and only messages keyed by it
are kept. The end of a partition comes from ``end_offsets``, which reads past the embedded
broker's short answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import orjson
from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from core.kafka import consumer_config, end_offsets, poll_batch
from core.settings import Settings
from schemas.topics import partition_for

#: How long a range read waits for a message it expects before it gives up on the rest (a
#: transaction marker or a compacted record takes an offset that no consumer sees).
IDLE_S = 2.0


class TopicNotFoundError(RuntimeError):
    """The topic is pitwall's, but the broker does not have it (yet)."""


class BrokerUnreachableError(RuntimeError):
    """The broker did not answer."""


def session_matcher(session_key: str | None) -> Callable[[Message], bool]:
    """Whether a message belongs to ``session_key`` (always, when None).

    Keys are ``session_key`` or ``session_key:driver``; a message without a key is judged by
    the ``session_key`` of its JSON, and an unreadable one without a key is nobody's.
    """
    if session_key is None:
        return lambda m: True
    exact = session_key.encode()
    prefix = exact + b":"

    def matches(m: Message) -> bool:
        key = m.key()
        if key is not None:
            return key == exact or key.startswith(prefix)
        try:
            return orjson.loads(m.value() or b"").get("session_key") == session_key
        except (orjson.JSONDecodeError, AttributeError):
            return False

    return matches


def read_range(c: Consumer, topic: str, ranges: dict[int, tuple[int, int]]) -> Iterator[Message]:
    """The messages of ``topic`` from ``start`` up to ``stop`` of each partition's range."""
    todo = {p: r for p, r in ranges.items() if r[0] < r[1]}
    if not todo:
        return
    c.assign([TopicPartition(topic, p, start) for p, (start, _) in todo.items()])
    last = time.monotonic()
    while todo and time.monotonic() - last < IDLE_S:
        batch = poll_batch(c, 5000, 0.2)
        if batch:
            last = time.monotonic()
        for m in batch:
            p = m.partition()
            if p in todo and m.offset() < todo[p][1]:
                yield m
                if m.offset() + 1 >= todo[p][1]:
                    del todo[p]
    c.unassign()


def last_matching(
    c: Consumer,
    topic: str,
    partition: int,
    bounds: tuple[int, int],
    count: int,
    matches: Callable[[Message], bool],
) -> list[Message]:
    """The last ``count`` messages of a partition that match, searching back from its end in
    growing windows (a session's events may lie far back among other sessions')."""
    low, stop = bounds
    found: list[Message] = []
    window = max(count, 256)
    while stop > low and len(found) < count:
        start = max(low, stop - window)
        found = [m for m in read_range(c, topic, {partition: (start, stop)}) if matches(m)] + found
        stop, window = start, window * 4
    return found[-count:] if count else []


def _partition_count(settings: Settings, topic: str) -> int:
    """``topic``'s partitions on the broker, or an error saying what is wrong."""
    bootstrap = settings.require_kafka
    # Quiet: a broker that does not answer is reported once, by the exception below.
    probe = Consumer(consumer_config(settings, None, log_level=0))
    try:  # every topic: asking the embedded broker for a missing one would create it
        meta = probe.list_topics(timeout=10).topics.get(topic)
    except KafkaException as exc:
        raise BrokerUnreachableError(
            f"could not reach the broker at {bootstrap}: {exc.args[0].str()}"
        ) from None
    finally:
        probe.close()
    if meta is None or not meta.partitions:
        raise TopicNotFoundError(
            f"{topic} does not exist on the broker at {bootstrap} yet: create pitwall's "
            "topics with `pitwall topics create` (a replay or the worker creates them too)"
        )
    return len(meta.partitions)


def tail(
    settings: Settings,
    topic: str,
    *,
    session_key: str | None = None,
    from_beginning: bool = False,
    last: int = 10,
    follow: bool = False,
    stop: Callable[[], bool] = lambda: False,
) -> Iterator[Message]:
    """``topic``'s messages (of ``session_key``): all with ``from_beginning``, else the last
    ``last``; then, with ``follow``, every new one until ``stop()`` or the caller stops."""
    partitions = _partition_count(settings, topic)
    wanted = [partition_for(session_key, partitions)] if session_key else range(partitions)
    matches = session_matcher(session_key)
    c = Consumer(consumer_config(settings, None))
    try:
        ends = end_offsets(settings.require_kafka, topic)
        lows = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[0] for p in wanted}
        if from_beginning:
            ranges = {p: (lows[p], ends[p]) for p in wanted}
            yield from (m for m in read_range(c, topic, ranges) if matches(m))
        elif last > 0:
            found = [
                m
                for p in wanted
                for m in last_matching(c, topic, p, (lows[p], ends[p]), last, matches)
            ]
            found.sort(key=lambda m: m.timestamp()[1])
            yield from found[-last:]
        if not follow:
            return
        c.assign([TopicPartition(topic, p, ends[p]) for p in wanted])
        while not stop():
            yield from (m for m in poll_batch(c, 1000, 0.2) if matches(m))
    finally:
        c.close()
