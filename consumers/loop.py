"""The one consume loop of pitwall's sinks: subscribe, poll, decode, write, commit, DLQ.

A sink only says what it reads and how it writes a batch (:class:`Sink`); the loop does the
rest, the same way for the PostgreSQL sink and the Redis writer:

- messages are polled in batches, from one consumer per lane (``consumers.lanes``: the bulk
  topics apart from the live ones, each lane paced so that the embedded broker is not asked
  in vain), and decoded once (``schemas.fastcodec.decode_fast``: the topic's model, through
  msgspec where it can), as ``sink.prepare`` iterates over them (so no batch of live events
  is kept); one that does not decode goes to ``f1.dlq.v1`` with the reason and its raw bytes
  (sinks with ``dead_letters``), or is logged and skipped;
- ``sink.prepare`` turns the batch into what it writes, in consumption order, on this thread;
  ``sink.write`` then writes it on one writer thread while the next batch is fetched and
  prepared, so at most one batch is in flight;
- a batch's offsets are committed only once its write has returned: a crash re-reads the
  batches in flight, never loses one, and the sinks write idempotently.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import structlog
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Message, TopicPartition

from consumers.lanes import Lane, LaneConsumer, lanes_for
from core.gc import raise_gc_thresholds
from core.kafka import consumer_config
from core.pacing import IdleClock
from core.settings import Settings
from producers.kafka import EventProducer
from schemas import DecodeError
from schemas.fastcodec import decode_fast
from schemas.topics import DLQ, SESSION

log = logging.getLogger(__name__)
#: Structured lines: each names the session, topic, partition and offset it is about.
slog = structlog.get_logger(__name__)

B = TypeVar("B")


#: One message and its event (a model, or a struct with the model's fields).
Decoded = tuple[Message, Any]
#: Offsets to commit, with the consumer (lane) whose group member holds their partitions.
Offsets = list[tuple[Consumer, list[TopicPartition]]]


class DeadLetters(Protocol):
    def __call__(self, message: Message, reason: str, error_type: str) -> None: ...


class Sink(Protocol, Generic[B]):
    """What a sink tells the loop: its group, topics and how it writes a batch."""

    group: str
    topics: Sequence[str]
    #: Whether undecodable input goes to the DLQ (one sink does it, the others log it).
    dead_letters: bool

    def prepare(self, batch: Iterable[Decoded], dead_letter: DeadLetters) -> B:
        """What to write for ``batch`` (in order); may dead-letter single messages."""
        ...

    def write(self, prepared: B) -> None:
        """Write ``prepared`` durably (raise when it cannot be: nothing is committed)."""
        ...


@dataclass
class LoopStats:
    """What the loop has consumed so far."""

    events: int = 0
    batches: int = 0
    dead_letters: int = 0
    per_topic: dict[str, int] = field(default_factory=dict)


def consume(
    settings: Settings,
    sink: Sink[B],
    stop: Callable[[], bool],
    *,
    from_beginning: bool = False,
    fetch_wait_ms: int | None = None,
    interval_s: float = 0.0,
    max_batch: int = 20_000,
    poll_timeout: float = 0.05,
    on_batch: Callable[[LoopStats], None] | None = None,
    on_ready: Callable[[], None] | None = None,
) -> LoopStats:
    """Run ``sink`` until ``stop()``; returns what was consumed.

    ``from_beginning`` re-reads every partition from its start, ignoring committed offsets
    (the sinks write idempotently). ``fetch_wait_ms`` and ``interval_s`` are the sink's lane's
    (``consumers.lanes``; default: the live fetch wait, no interval). ``on_ready`` is called
    once every lane has its partitions, ``on_batch`` after each batch is committed.
    """
    stats = LoopStats()
    raise_gc_thresholds()
    idle = IdleClock(settings.idle_after_s, settings.idle_after_live_s)
    lanes = [
        LaneConsumer(_consumer(settings, sink.group, lane), lane, idle, _idle_probe_s(settings))
        for lane in lanes_for(settings, list(sink.topics), fetch_wait_ms, interval_s)
    ]
    producer = EventProducer(settings.require_kafka) if sink.dead_letters else None
    subscribe_all(lanes, from_beginning, on_ready)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{sink.group}-writer")
    dead_letter = dead_letterer(stats, producer)
    in_flight = BatchInFlight(producer, stats, on_batch)
    try:
        while not stop():
            polled = [
                (lc.consumer, lc.poll(max_batch, poll_timeout if i == 0 else 0.0))
                for i, lc in enumerate(lanes)
            ]
            msgs = [m for _, batch in polled for m in batch]
            prepared = sink.prepare(decode_batch(msgs, dead_letter, stats, idle), dead_letter)
            in_flight.finish()
            if msgs:
                offsets = [(c, committable(batch)) for c, batch in polled if batch]
                in_flight.start(pool.submit(sink.write, prepared), offsets, len(msgs))
        in_flight.finish()
    finally:
        pool.shutdown(wait=True)
        for lc in lanes:
            lc.consumer.close()
        if producer is not None:
            producer.close()
    return stats


def _idle_probe_s(settings: Settings) -> float:
    """How often an idle sink looks for new data."""
    return settings.idle_fetch_wait_ms / 1000


def _consumer(settings: Settings, group: str, lane: Lane) -> Consumer:
    """A member of ``group`` for ``lane`` (from the beginning when it has no offsets)."""
    wait = {"fetch.wait.max.ms": lane.fetch_wait_ms}
    return Consumer(consumer_config(settings, group, from_beginning=True, **wait))


def dead_letterer(stats: LoopStats, producer: EventProducer | None) -> DeadLetters:
    """What the loop does with a message it cannot use: count and log it, and with a
    ``producer`` send it to the DLQ (never a message of the DLQ itself)."""

    def dead_letter(message: Message, reason: str, error_type: str) -> None:
        stats.dead_letters += 1
        topic = message.topic()
        key = (message.key() or b"").decode("utf-8", "replace")
        slog.warning(
            "dead letter",
            reason=reason,
            session=key.split(":", 1)[0] or None,
            topic=topic,
            partition=message.partition(),
            offset=message.offset(),
        )
        if producer is not None and topic != DLQ.name:
            producer.dead_letter(
                topic,
                reason,
                message.value() or b"",
                error_type=error_type,
                message_key=(message.key() or b"").decode("utf-8", "replace"),
                partition=message.partition(),
                offset=message.offset(),
            )

    return dead_letter


class BatchInFlight:
    """The one batch being written: its offsets are committed (after its dead letters are
    flushed), on the consumer of each lane it came from, only once its write has returned."""

    def __init__(
        self,
        producer: EventProducer | None,
        stats: LoopStats,
        on_batch: Callable[[LoopStats], None] | None,
    ) -> None:
        self.producer = producer
        self.stats = stats
        self.on_batch = on_batch
        self.pending: tuple[Future[None], Offsets, int] | None = None

    def start(self, written: Future[None], offsets: Offsets, n: int) -> None:
        """A batch of ``n`` messages is being written (``finish`` the one before first)."""
        self.pending = (written, offsets, n)

    def finish(self) -> None:
        """Wait for the batch in flight, then its dead letters and offsets."""
        if self.pending is None:
            return
        written, offsets, n = self.pending
        self.pending = None
        written.result()
        if self.producer is not None:
            self.producer.flush()
        for consumer, tps in offsets:
            try:
                consumer.commit(offsets=tps, asynchronous=False)
            except KafkaException as exc:  # e.g. partitions moved in a rebalance: rows stay
                slog.warning(
                    "offset commit failed; the batch may be re-read, adding no row",
                    error=str(exc),
                    offsets=[f"{tp.topic}/{tp.partition}/{tp.offset}" for tp in tps],
                )
        self.stats.batches += 1
        self.stats.events += n
        if self.on_batch:
            self.on_batch(self.stats)


def decode_batch(
    messages: Iterable[Message],
    dead_letter: DeadLetters,
    stats: LoopStats | None = None,
    idle: IdleClock | None = None,
) -> Iterator[Decoded]:
    """Each message with its event; those that do not decode are dead-lettered and left out.
    ``idle`` hears of each event's session (and a session status)."""
    for msg in messages:
        topic = msg.topic()
        try:
            event = decode_fast(topic, msg.value() or b"")
        except DecodeError as exc:
            dead_letter(msg, exc.reason, "DecodeError")
            continue
        if stats is not None:
            stats.per_topic[topic] = stats.per_topic.get(topic, 0) + 1
        if idle is not None:
            status = event.status if topic == SESSION.name and event.kind == "status" else None
            idle.event(getattr(event, "session_key", None), status)
        yield msg, event


def subscribe_all(
    lanes: list[LaneConsumer], from_beginning: bool, on_ready: Callable[[], None] | None
) -> None:
    """Subscribe every lane's consumer; ``on_ready`` once all of them have partitions."""
    waiting = set(range(len(lanes)))

    def ready(i: int) -> Callable[[], None]:
        def assigned() -> None:
            waiting.discard(i)
            if not waiting and on_ready:
                on_ready()

        return assigned

    for i, lc in enumerate(lanes):
        subscribe(lc.consumer, list(lc.lane.topics), from_beginning, ready(i))


def subscribe(
    consumer: Consumer,
    topics: list[str],
    from_beginning: bool,
    on_ready: Callable[[], None] | None,
) -> None:
    """Subscribe; on the first assignment call ``on_ready``, and with ``from_beginning``
    start every assigned partition at its beginning instead of the committed offset."""
    ready = False

    def on_assign(c: Consumer, partitions: list[TopicPartition]) -> None:
        nonlocal ready
        if from_beginning:
            for p in partitions:
                p.offset = OFFSET_BEGINNING
            c.assign(partitions)
        if not ready and on_ready:
            on_ready()
        ready = True

    consumer.subscribe(topics, on_assign=on_assign)


def committable(messages: Iterable[Message]) -> list[TopicPartition]:
    """The offsets to commit once ``messages`` are durable: one past the last of each partition."""
    last: dict[tuple[str, int], int] = {}
    for m in messages:
        last[(m.topic(), m.partition())] = m.offset()
    return [TopicPartition(t, p, o + 1) for (t, p), o in last.items()]
