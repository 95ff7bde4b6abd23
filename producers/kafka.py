"""The Kafka producer every pitwall publisher uses: idempotent, keyed, orjson-encoded.

Keys follow the topic registry (``session_key`` or ``session_key:driver``); every event of a
session goes to the session's partition (``schemas.topics.partition_for``) so that a session's
events keep their order across drivers too.

It never creates a topic by asking for it (a broker's auto-created topic has the broker's
partition count, not ours), and it tells when its broker went away and whether the one that
answers again is the same: a restarted memory-storage broker has a new cluster id and none
of what it had acknowledged (:meth:`EventProducer.broker_state`). A publisher then starts
over on it (:meth:`EventProducer.reconnect`) and publishes again what it had published.

Events of the bulk topics (car telemetry: several samples a second per car, for the track map
and history) go through a second client that lingers :data:`BULK_LINGER_MS` before it sends,
so that a paced race writes a few record batches a second to them instead of one per burst
of samples: the embedded broker pays for every fetch of a partition by the batches the
partition holds (docs/broker.md). The other topics go at once.
"""

from __future__ import annotations

import base64
import contextlib
import enum
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from schemas import DlqEvent, Envelope, EventTime, encode, topic_for, utcnow
from schemas.topics import DLQ, RAW_TOPICS, TELEMETRY, partition_for

#: Topics whose events stream in many small bursts and decide nothing at once.
BULK_TOPICS = frozenset({TELEMETRY.name})
#: How long their client gathers events into one record batch: the Redis writer publishes
#: car positions every 200 ms (``consumers.track_state``), so no map redraw waits for it.
BULK_LINGER_MS = 200


class PublishError(RuntimeError):
    """The broker did not acknowledge some events."""


class Broker(enum.Enum):
    """What a producer knows of its broker (:meth:`EventProducer.broker_state`)."""

    SAME = "same"  # the broker it first reached, answering
    DOWN = "down"  # no broker answers
    NEW = "new"  # another broker (cluster id) answers: what the old one held is gone


#: librdkafka errors that mean the connection to the broker went away.
_LOST = frozenset({KafkaError._ALL_BROKERS_DOWN, KafkaError._TRANSPORT})


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
            # A missing topic is an error, not one created with the broker's defaults.
            "allow.auto.create.topics": False,
            "error_cb": self._on_error,
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
        #: The cluster id of the broker first reached (None until a metadata answer).
        self.cluster_id: str | None = None
        self._connection_lost = False
        self._looked_at = time.monotonic()
        self._state = Broker.SAME

    def _on_error(self, err: KafkaError) -> None:
        if err.code() in _LOST:
            self._connection_lost = True

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

    # -- the broker going away, and another one coming back ------------------------------
    def broker_state(self, every: float = 5.0, timeout: float = 0.5, retry: float = 1.0) -> Broker:
        """Whether the broker first reached answers. It is asked at most every ``retry`` s
        once the connection was lost, else every ``every`` s; in between the last answer
        stands (SAME at no cost while nothing was lost)."""
        since = time.monotonic() - self._looked_at
        if since < (retry if self._connection_lost else every):
            return self._state
        self._looked_at = time.monotonic()
        try:
            cluster = self._producer.list_topics(timeout=timeout).cluster_id
        except KafkaException:
            self._connection_lost = True
            self._state = Broker.DOWN
            return self._state
        self._connection_lost = False
        if self.cluster_id is None:
            self.cluster_id = cluster
        self._state = Broker.SAME if cluster == self.cluster_id else Broker.NEW
        return self._state

    def reconnect(self, topic_timeout: float = 60.0) -> None:
        """Start over on a new broker: drop what was queued or in flight for the old one (a
        new client: librdkafka's idempotence state belongs to the old one), and find the
        partitions of the topics used so far again, waiting up to ``topic_timeout`` s for
        whoever creates them (``pitwall up``)."""
        old, self._producer = self._producer, Producer(self._config)
        olds = [old, self._bulk] if self._bulk is not None else [old]
        self._bulk = None  # the bulk client is made again on the next bulk event
        for client in olds:
            client.purge()
            client.poll(0)  # the purged messages' reports: failures meant for the old broker
        self.errors.clear()
        topics, self._partitions, self.cluster_id = list(self._partitions), {}, None
        self._connection_lost, self._state = False, Broker.SAME
        deadline = time.monotonic() + topic_timeout
        for topic in topics:
            while True:
                try:
                    self._partition_count(topic, timeout=2.0)
                    break
                except (PublishError, KafkaException):
                    if time.monotonic() > deadline:
                        raise PublishError(f"{topic} does not exist on the new broker") from None
                    time.sleep(0.2)

    def _partition_count(self, topic: str, timeout: float = 10.0) -> int:
        """Partitions of ``topic`` (from the broker's metadata, once; PublishError when the
        topic does not exist)."""
        n = self._partitions.get(topic)
        if n is None:
            answer = self._producer.list_topics(topic, timeout=timeout)
            if self.cluster_id is None:
                self.cluster_id = answer.cluster_id
            meta = answer.topics.get(topic)
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
