"""Publishing the live feed: every line through the parser, its events to Kafka, bad input
to the dead-letter topic, and the latency from a message's arrival to the broker's ack.

The producer keeps going whatever a message holds: a line that cannot be framed, or a
message whose topic handler fails, is sent to ``f1.dlq.v1`` with the reason and the raw
line, and the next line is parsed as usual.

Every input is archived as it comes (:class:`FeedArchive`). When the broker goes away the
publisher holds the next input until one answers; a new, empty one (the embedded broker
restarted) gets the whole archive again through a fresh parser, so that the consumers
rebuild the session from its start, before the input that was held.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from confluent_kafka import KafkaError, Message
from pydantic import BaseModel

from producers.kafka import Broker, EventProducer
from producers.live.archive import RawMessage, frame_line, message_from_list
from producers.live.decode import FeedError
from producers.live.parser import LiveParser
from schemas import Envelope, TelemetryEvent, encode, topic_for, utcnow
from schemas.topics import TELEMETRY, partition_for

#: Producer settings for the live path: send at once rather than batch for 2 ms.
LIVE_PRODUCER_CONFIG: dict[str, Any] = {"linger.ms": 0, "client.id": "pitwall-live"}


class _Arrival:
    """One message: when it reached the parser, and how many of its events await an ack."""

    __slots__ = ("at", "done", "events", "label", "last_ack", "pending")

    def __init__(self, at: float) -> None:
        self.at = at
        self.label = ""
        self.pending = 0
        self.events = 0
        self.done = False
        self.last_ack = at


_QUOTED = re.compile(r"'[^']*'")


def _fields(value: object) -> dict[str, Any]:
    if isinstance(value, BaseModel):
        return value.__dict__
    raise TypeError(f"cannot encode {type(value).__name__}")


def encode_telemetry(event: TelemetryEvent) -> bytes:
    """``schemas.encode`` for a telemetry sample, byte for byte, for less: the sample's fields
    are already typed (the feed sends ~80 per message), so no model dump is needed."""
    return orjson.dumps(event.__dict__, default=_fields)


class TimedEventProducer(EventProducer):
    """An EventProducer that records, per event and per message, the time from the
    message's arrival at the parser to the broker's delivery acknowledgement."""

    def __init__(self, bootstrap: str, **overrides: Any) -> None:
        super().__init__(bootstrap, **{**LIVE_PRODUCER_CONFIG, **overrides})
        self.current: _Arrival | None = None
        self._lock = threading.Lock()
        self.event_latency: list[float] = []
        self.message_latency: list[float] = []
        #: events and feed topic of each message in ``message_latency`` (same order)
        self.message_events: list[int] = []
        self.message_topics: list[str] = []

    def publish(self, event: Envelope, *, stamp: bool = True) -> None:
        self.publish_many([event], stamp=stamp)

    def publish_many(self, events: Iterable[Envelope], *, stamp: bool = True) -> None:
        """Encode every event of a message first, then hand them to librdkafka back to back:
        interleaving Python work with ``produce`` (linger 0) costs a broker-thread wake-up
        and a one-event request per event; back to back they share a few requests."""
        now = utcnow()
        ready: list[tuple[str, str, bytes, int]] = []
        for event in events:
            if stamp:
                event.produced_at = now
            if type(event) is TelemetryEvent:
                topic, value = TELEMETRY.name, encode_telemetry(event)
            else:
                topic, value = topic_for(event).name, encode(event)
            partition = partition_for(event.session_key, self._partition_count(topic))
            ready.append((topic, event.key(), value, partition))
        for topic, key, value, partition in ready:
            self._send(topic, key, value, partition)

    def _send(self, topic: str, key: str | None, value: bytes, partition: int = -1) -> None:
        arrival = self.current
        if arrival is not None:
            arrival.pending += 1
            arrival.events += 1

        def on_delivery(err: KafkaError | None, msg: Message) -> None:
            self._on_delivery(err, msg)
            if arrival is None or err is not None:
                return
            now = time.perf_counter()
            self.event_latency.append(now - arrival.at)
            with self._lock:
                arrival.pending -= 1
                arrival.last_ack = now
                if arrival.pending == 0 and arrival.done:
                    self._record(arrival)

        self._produce(topic, key, value, partition, on_delivery)

    def arrived(self) -> None:
        self.current = _Arrival(time.perf_counter())

    def label(self, topic: str) -> None:
        if self.current is not None:
            self.current.label = topic

    def sealed(self) -> None:
        arrival, self.current = self.current, None
        if arrival is None:
            return
        with self._lock:
            arrival.done = True
            if arrival.pending == 0 and arrival.events:
                self._record(arrival)  # every ack came before the last event was queued

    def _record(self, arrival: _Arrival) -> None:
        self.message_latency.append(arrival.last_ack - arrival.at)
        self.message_events.append(arrival.events)
        self.message_topics.append(arrival.label)


@dataclass
class LiveStats:
    """What the live producer saw and sent (each input once, however often it was sent)."""

    lines: int = 0
    messages: int = 0
    published: Counter[str] = field(default_factory=Counter)
    dead_letters: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    #: times a new (empty) broker answered and the archive was published again
    restarts: int = 0

    @property
    def events(self) -> int:
        return sum(self.published.values())

    def copy(self) -> LiveStats:
        return LiveStats(
            self.lines,
            self.messages,
            Counter(self.published),
            self.dead_letters,
            Counter(self.reasons),
            self.restarts,
        )


class FeedArchive:
    """The inputs a publisher has handled, in order: a line (text, topic) or a received
    message (topic, data, utc), to hand them over again. Kept in memory: a race's whole
    feed is tens of megabytes."""

    def __init__(self) -> None:
        self.inputs: list[tuple[str, Any, Any, Any]] = []

    def line(self, text: str | bytes, topic: str | None) -> None:
        self.inputs.append(("line", text, topic, None))

    def message(self, topic: str, data: Any, utc: str | None) -> None:
        self.inputs.append(("message", topic, data, utc))

    def __len__(self) -> int:
        return len(self.inputs)


class LivePublisher:
    """Feed lines (or framed messages) through a :class:`LiveParser` into Kafka."""

    def __init__(
        self, producer: EventProducer, parser: LiveParser, *, source: str = "livetiming"
    ) -> None:
        self.producer = producer
        self.parser = parser
        self.source = source
        self.stats = LiveStats()
        self.archive = FeedArchive()
        self._poller: threading.Thread | None = None
        self._stop = threading.Event()

    # -- delivery callbacks served in the background (paced and live modes) ---------------
    def start_polling(self, interval: float = 0.1) -> None:
        """Serve delivery acks from a thread, so their time is measured while we wait."""
        if self._poller is None:
            self._stop.clear()
            self._poller = threading.Thread(
                target=self._poll, args=(interval,), daemon=True, name="live-acks"
            )
            self._poller.start()

    def _poll(self, interval: float) -> None:
        while not self._stop.is_set():
            self.producer.poll(interval)

    def wait(self, seconds: float) -> None:
        """Wait for the next message while serving delivery acks on this thread (no GIL
        hand-offs with a poller thread while a message is being published)."""
        deadline = time.perf_counter() + seconds
        while (left := deadline - time.perf_counter()) > 0:
            self.producer.poll(min(left, 0.05))

    def stop_polling(self) -> None:
        if self._poller is not None:
            self._stop.set()
            self._poller.join(5)
            self._poller = None

    # -- input -----------------------------------------------------------------------------
    def handle_line(self, text: str | bytes, topic: str | None = None) -> int:
        """Parse one received or recorded line and publish its events; return how many."""
        self._check_broker()
        self.archive.line(text, topic)
        return self._line(text, topic)

    def handle_message(self, topic: str, data: Any, utc: str | None = None) -> int:
        """A message as FastF1's client receives it (topic, data, utc)."""
        self._check_broker()
        self.archive.message(topic, data, utc)
        return self._message(topic, data, utc)

    # -- the broker going away ---------------------------------------------------------------
    def _check_broker(self) -> None:
        """Over a new broker, publish the archive again. While none answers the feed goes
        on (a live session does not wait): its events queue in the producer, for the same
        broker when it is back, or dropped with the queue when a new one answers, which
        gets them from the archive."""
        if self.producer.broker_state() is Broker.NEW:
            self.republish()

    def republish(self) -> None:
        """Start over on a new broker: every archived input again, through a fresh parser
        (the statistics count each input once)."""
        self.producer.reconnect()
        stats = self.stats.copy()
        self.parser.reset()
        for kind, a, b, c in list(self.archive.inputs):
            if kind == "line":
                self._line(a, b)
            else:
                self._message(a, b, c)
        vars(self.stats).update(vars(stats))  # in place: callers hold this object
        self.stats.restarts += 1

    def _line(self, text: str | bytes, topic: str | None) -> int:
        self.producer.arrived()
        self.stats.lines += 1
        raw = text if isinstance(text, bytes) else text.encode()
        try:
            try:
                messages = frame_line(
                    text.decode("utf-8-sig") if isinstance(text, bytes) else text, topic
                )
            except (FeedError, UnicodeDecodeError) as exc:
                self._dead_letter(topic, str(exc), raw)
                return 0
            return sum(self._handle(m, raw) for m in messages)
        finally:
            self.producer.sealed()

    def _message(self, topic: str, data: Any, utc: str | None) -> int:
        self.producer.arrived()
        self.stats.lines += 1
        try:
            try:
                message = message_from_list([topic, data, utc])
            except FeedError as exc:
                raw = orjson.dumps([topic, data, utc], default=repr)
                self._dead_letter(topic, str(exc), raw)
                return 0
            return self._handle(message, b"")
        finally:
            self.producer.sealed()

    def _handle(self, msg: RawMessage, raw: bytes) -> int:
        self.stats.messages += 1
        self.producer.label(msg.topic)
        try:
            events = self.parser.feed(msg)
        except FeedError as exc:
            if not raw:
                raw = orjson.dumps([msg.topic, msg.data, msg.utc], default=repr)
            self._dead_letter(msg.topic, str(exc), raw)
            return 0
        return self._publish(events)

    def _publish(self, events: list[Envelope]) -> int:
        self.producer.publish_many(events)
        for event in events:
            self.stats.published[topic_for(event).name] += 1
        if events:
            self.producer.poll(0)  # serve the acks that already came
        return len(events)

    def _dead_letter(self, topic: str | None, reason: str, raw: bytes) -> None:
        self.stats.dead_letters += 1
        self.stats.reasons[_QUOTED.sub("'…'", reason)[:100]] += 1
        self.producer.dead_letter(
            f"{self.source}:{topic}" if topic else self.source,
            reason,
            raw,
            session_key=self.parser.session_key,
            error_type="FeedError",
            message_key=topic,
        )

    def finish(self, timeout: float = 60.0) -> LiveStats:
        """End of the feed: publish the laps still held for late values, wait for acks."""
        self._check_broker()
        self.producer.arrived()
        try:
            self._publish(self.parser.finish())
        finally:
            self.producer.sealed()
        self.producer.flush(timeout)
        self.stop_polling()
        return self.stats
