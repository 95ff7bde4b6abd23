"""The Kafka producer every pitwall publisher uses: idempotent, keyed, orjson-encoded.

Keys follow the topic registry (``session_key`` or ``session_key:driver``); every event of a
session goes to the session's partition (``schemas.topics.partition_for``) so that a session's
events keep their order across drivers too.

Events of the bulk topics (car telemetry: several samples a second per car, for the track map
and history) go through a second client that lingers :data:`BULK_LINGER_MS` before it sends,
so that a paced race writes a few record batches a second to them instead of one per burst
of samples: the embedded broker pays for every fetch of a partition by the batches the
partition holds (docs/broker.md). The other topics go at once.
"""

from __future__ import annotations

import base64
import contextlib
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from schemas import DlqEvent, Envelope, EventTime, encode, topic_for, utcnow
from schemas.topics import DLQ, RAW_TOPICS, TELEMETRY, partition_for

#: Topics whose events stream in many small bursts and decide nothing at once.
BULK_TOPICS = frozenset({TELEMETRY.name})
#: How long their client gathers events into one record batch: the Redis writer publishes
#: car positions every 200 ms (``consumers.track_state``), so no map redraw waits for it.
BULK_LINGER_MS = 200


class PublishError(RuntimeError):
    """The broker did not acknowledge some events."""


class EventProducer:
    """A thin wrapper over confluent-kafka's Producer for pitwall events."""

    def __init__(
        self, bootstrap: str, *, bulk_linger_ms: int = BULK_LINGER_MS, **overrides: Any
    ) -> None:
        config: dict[str, Any] = {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            # Sent at once: a paced or live event would wait out the whole linger, which
            # shows in every lap -> strategy latency; at max speed what queues while a
            # request is in flight still goes out together (benchmarks/RESULTS.md).
            "linger.ms": 0,
            "batch.num.messages": 10000,
            "queue.buffering.max.messages": 1_000_000,
            "compression.type": "none",
            "client.id": "pitwall-producer",
        }
        config.update(overrides)
        self._config = config
        self._bulk_linger_ms = bulk_linger_ms
        self._producer = Producer(config)
        self._bulk: Producer | None = None  # made on the first bulk event
        self.sent: Counter[str] = Counter()
        self.acked: Counter[str] = Counter()
        self.errors: list[str] = []
        self._partitions: dict[str, int] = {}

    def _client(self, topic: str) -> Producer:
        """The client that sends ``topic``: the lingering one for the bulk topics."""
        if topic not in BULK_TOPICS:
            return self._producer
        if self._bulk is None:
            client_id = f"{self._config.get('client.id', 'pitwall-producer')}-bulk"
            self._bulk = Producer(
                {**self._config, "linger.ms": self._bulk_linger_ms, "client.id": client_id}
            )
        return self._bulk

    def _clients(self) -> list[Producer]:
        return [p for p in (self._producer, self._bulk) if p is not None]

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self.errors.append(f"{msg.topic()}: {err.str()}")
        else:
            self.acked[msg.topic()] += 1

    def publish(self, event: Envelope, *, stamp: bool = True) -> None:
        """Queue ``event`` on its topic, keyed per the registry; set ``produced_at`` now.

        The stamp comes after the topic's partition lookup, so that it says when the event
        was handed over even on the topic's first event.
        """
        topic = topic_for(event).name
        partition = partition_for(event.session_key, self._partition_count(topic))
        if stamp:
            event.produced_at = utcnow()
        self._send(topic, event.key(), encode(event), partition)

    def publish_many(self, events: Iterable[Envelope], *, stamp: bool = True) -> None:
        """Queue every event of one source message, in order."""
        for event in events:
            self.publish(event, stamp=stamp)

    # -- timing of source messages: no-ops here, ``TimedEventProducer`` records them --------
    def arrived(self) -> None:
        """A source message (a live-feed line) arrived: what is queued until :meth:`sealed`
        is its."""

    def label(self, topic: str) -> None:
        """The source topic of the message that :meth:`arrived` (for its figures)."""

    def sealed(self) -> None:
        """The message that :meth:`arrived` has queued all its events."""

    def warm_up(self, topics: Iterable[str] | None = None, timeout: float = 10.0) -> None:
        """Learn the partitions of ``topics`` (default: every race topic) now, connecting to
        the broker on the way, not on a topic's first event, which would otherwise wait for
        the lookup (slow on a fresh producer): a paced replay or live feed calls this before
        its clock starts."""
        for topic in topics if topics is not None else [t.name for t in (*RAW_TOPICS, DLQ)]:
            with contextlib.suppress(PublishError):  # found again, or reported, when used
                self._partition_count(topic, timeout)
                if topic in BULK_TOPICS:  # its own client connects too
                    self._client(topic).list_topics(topic, timeout=timeout)

    def publish_raw(self, topic: str, key: str | None, value: bytes) -> None:
        """Queue bytes as they are, keyed (tests use this to send malformed input)."""
        self._send(topic, key, value)

    def _partition_count(self, topic: str, timeout: float = 10.0) -> int:
        """Partitions of ``topic`` (from the broker's metadata, once; created if missing)."""
        n = self._partitions.get(topic)
        if n is None:
            meta = self._producer.list_topics(topic, timeout=timeout).topics.get(topic)
            if meta is None or meta.error is not None or not meta.partitions:
                reason = meta.error if meta is not None else "no metadata"
                raise PublishError(f"cannot get the partitions of {topic}: {reason}")
            n = self._partitions[topic] = len(meta.partitions)
        return n

    def _send(self, topic: str, key: str | None, value: bytes, partition: int = -1) -> None:
        self._produce(topic, key, value, partition, self._on_delivery)
        self._client(topic).poll(0)

    def _produce(
        self,
        topic: str,
        key: str | None,
        value: bytes,
        partition: int,
        on_delivery: Callable[[KafkaError | None, Message], None],
    ) -> None:
        """Hand one message to librdkafka, waiting for room in its queue when it is full."""
        client = self._client(topic)
        while True:
            try:
                client.produce(
                    topic, value=value, key=key, partition=partition, on_delivery=on_delivery
                )
                break
            except BufferError:
                client.poll(0.05)
        self.sent[topic] += 1

    def dead_letter(
        self,
        source: str,
        reason: str,
        raw: bytes,
        *,
        session_key: str = "unknown",
        error_type: str | None = None,
        message_key: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
    ) -> None:
        """Publish an input that could not be parsed or validated to ``f1.dlq.v1``."""
        self.publish(
            DlqEvent(
                session_key=session_key,
                event_time=EventTime(session_time=0.0, utc=utcnow()),
                source=source,
                reason=reason[:2000],
                error_type=error_type,
                raw_b64=base64.b64encode(raw).decode(),
                message_key=message_key,
                partition=partition,
                offset=offset,
            )
        )
        assert DLQ.name  # the registry names the topic

    def poll(self, timeout: float = 0.0) -> int:
        """Serve delivery reports (waiting up to ``timeout`` s on the main client's)."""
        served = self._producer.poll(timeout)
        if self._bulk is not None:
            served += self._bulk.poll(0)
        return served

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until every queued event is acknowledged (a flush sends the lingering bulk
        events at once); raise if any failed."""
        remaining = sum(client.flush(timeout) for client in self._clients())
        if remaining:
            raise PublishError(f"{remaining} events not acknowledged within {timeout:.0f} s")
        if self.errors:
            raise PublishError(f"{len(self.errors)} events failed, first: {self.errors[0]}")

    def close(self) -> None:
        """Flush what is pending and release the clients (their threads and connections)."""
        for client in self._clients():
            client.flush(10)
        self._producer = None  # type: ignore[assignment]
        self._bulk = None
