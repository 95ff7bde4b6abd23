"""The Faust app of the stream worker: its topics, tables and the session agent.

The work itself is :class:`streams.session_worker.SessionWorker`; this module only wires it
to Kafka. The agent reads the race topics the worker needs (session, laps, stints, track
status) directly: producers put all of a session's events on the same partition number of
every topic (``schemas.topics.partition_for``), so one agent instance sees a session's events
in order and its tables are co-partitioned with its input. Outputs go to the session's
partition too.

The agent never waits for a Monte Carlo: it queues the worker's strategy requests
(``streams.strategy_queue``) and takes the next event, and one runner makes the updates in
order. At least once: events are acknowledged by hand, one that asked for a strategy update
(or was folded into one) only once that update is sent, and Faust flushes the producer
before it commits the offsets acknowledged, so a restarted worker redoes what it had not
committed (consumers treat features and strategy idempotently).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import faust

from core import logs
from core.kafka import partition_count
from core.settings import Settings
from schemas.topics import (
    BATTLES,
    DEGRADATION,
    DLQ,
    FEATURES,
    LAPS,
    SESSION,
    STINTS,
    STRATEGY,
    TRACK_STATUS,
    WEATHER,
    TopicSpec,
    partition_for,
)
from strategy.artifacts import RaceModels
from strategy.battles import BattleModel
from streams import faust_patch, table_store
from streams.fetch_pace import FetchPace
from streams.session_worker import Origin, SessionWorker
from streams.strategy_queue import StrategyQueue

log = logging.getLogger(__name__)

#: What the worker reads. f1.timing.v1 (~30k per race) is left out: gaps are taken at the
#: timing line from completed laps, which is what strategy needs. Weather (rain, track
#: temperature) bounds the wet-weather advice.
INPUT_TOPICS = (SESSION, LAPS, STINTS, TRACK_STATUS, WEATHER)
#: What it writes.
OUTPUT_TOPICS = (FEATURES, DEGRADATION, STRATEGY, BATTLES, DLQ)


def make_app(
    settings: Settings, models: RaceModels, battles: BattleModel | None = None, index: int = 0
) -> faust.App:
    """The worker's Faust app for the configured broker, computing with ``models`` (and the
    battle forecast, when trained); ``index`` tells a worker process from the others of its
    group."""
    bootstrap = settings.require_kafka
    # Tables must match their input topics' partitions, whatever count those were created with.
    partitions = partition_count(bootstrap, LAPS.name, settings.kafka_partitions)
    session_timeout = settings.kafka_session_timeout_ms / 1000
    datadir = settings.state_dir / "faust" / str(index)  # one per worker process
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        "pitwall-worker",
        broker=f"kafka://{bootstrap}",
        # In memory, but a rebalance that leaves this worker its partitions re-reads nothing.
        store=table_store.URL,
        # No standby copies: Faust's in-memory store drops them whenever a recovery completes,
        # so each idle worker would re-read every changelog after each rebalance for nothing.
        table_standby_replicas=0,
        value_serializer="raw",
        key_serializer="raw",
        topic_partitions=partitions,
        topic_replication_factor=1,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=session_timeout,
        broker_heartbeat_interval=max(session_timeout / 6, 0.2),
        broker_rebalance_timeout=max(session_timeout * 2, 5.0),
        broker_request_timeout=max(session_timeout * 4, 20.0),
        broker_commit_every=200,
        broker_commit_interval=0.5,
        stream_wait_empty=False,
        table_cleanup_interval=3600.0,
        web_enabled=False,
        producer_linger=0.0,
        producer_max_batch_size=262144,
        datadir=str(datadir),
    )
    pace = FetchPace.from_settings(settings)
    faust_patch.apply(app, settings.kafka_fetch_wait_ms, bootstrap, pace)
    wire(app, models, partitions, battles, pace)
    return app


#: Kafka header of every event the worker publishes: the input it came from,
#: ``topic/partition/offset`` (for a strategy update, the newest event folded into it).
SOURCE_HEADER = "pitwall-source"
SOURCE: contextvars.ContextVar[str | None] = contextvars.ContextVar("pitwall_source", default=None)


def bind_event(msg: Any) -> None:
    """Log lines from here on carry the event's session, topic, partition and offset."""
    key = (msg.key or b"").decode("utf-8", "replace")
    logs.bind(
        session=key.split(":", 1)[0], topic=msg.topic, partition=msg.partition, offset=msg.offset
    )


def answer_for(msg: Any) -> None:
    """What is published from here on answers ``msg``: its header and log lines say so."""
    SOURCE.set(f"{msg.topic}/{msg.partition}/{msg.offset}")
    bind_event(msg)


def wire(
    app: faust.App,
    models: RaceModels,
    partitions: int,
    battles: BattleModel | None = None,
    pace: FetchPace | None = None,
) -> SessionWorker:
    """Declare the topics, tables and agent of ``app``; returns the worker they drive.
    ``pace`` hears of every event and, each second, whether the worker is idle."""
    inputs = app.topic(*(t.name for t in INPUT_TOPICS), key_type=bytes, value_type=bytes)
    outputs = {t.name: app.topic(t.name, key_type=bytes, value_type=bytes) for t in OUTPUT_TOPICS}

    async def send(spec: TopicSpec, session_key: str, key: str, value: bytes) -> None:
        """Queue on the session's partition (delivered by the commit's flush at the latest),
        with the input it came from in the ``pitwall-source`` header."""
        partition = partition_for(session_key, spec.partition_count(partitions))
        source = SOURCE.get()
        headers = {SOURCE_HEADER: source.encode()} if source else None
        await outputs[spec.name].send(
            key=key.encode(), value=value, partition=partition, headers=headers
        )

    worker = SessionWorker(
        models,
        send,
        app.Table("sessions", partitions=partitions),  # JSON: table_*_serializer
        app.Table("drivers", partitions=partitions),
        # recommend() runs here, off the event loop: while it computes, the features and
        # degradation already sent go out to the broker and the next events are fetched.
        executor=ThreadPoolExecutor(max_workers=1, thread_name_prefix="pitwall-strategy"),
        battles=battles,
    )

    @app.on_partitions_revoked.connect
    async def on_revoked(app: faust.App, revoked: Any, **kwargs: Any) -> None:
        worker.forget()  # the tables, recovered from their changelogs, are the truth

    @app.timer(interval=1.0)
    async def every_second() -> None:
        """The idle fetch wait when idle; the cache of the sessions to let go of freed."""
        if pace is not None:
            pace.tick()
        for key in worker.life.due():
            worker.release(key)

    @app.agent(inputs)
    async def session_agent(stream: Any) -> None:
        """Apply each event as soon as it is fetched (batching on a timer would hold each
        event up to its window and wake the loop every window even when idle); acknowledge
        one that asked for a strategy update only once that update is sent."""
        events = stream.noack()
        requests = StrategyQueue()
        runner = asyncio.create_task(
            run_strategy(worker, events, requests), name="pitwall-strategy"
        )
        try:
            async for event in events.events():
                msg = event.message
                if pace is not None:
                    pace.event(msg.topic, msg.key, event.value)
                await end_sessions(worker, events, requests, msg.partition, partitions)
                answer_for(msg)
                req = await worker.handle(
                    msg.topic, event.value, Origin(msg.key, msg.partition, msg.offset)
                )
                if req is None:
                    await events.ack(event)
                else:
                    req.events.append(event)
                    requests.put(req)
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner

    return worker


async def run_strategy(worker: SessionWorker, events: Any, requests: StrategyQueue) -> None:
    """Make the waiting strategy updates a batch at a time (a turn of every session with one
    waiting: ``streams.strategy_queue``), publishing each as soon as it is computed, and
    acknowledge the events each answers."""
    while True:
        batch = await requests.get_batch()
        jobs = worker.submit(batch)
        for req, job in zip(batch, jobs, strict=True):
            if req.events:  # the update answers the newest event folded into it
                answer_for(req.events[-1].message)
            try:
                await worker.publish(req, await job)
            except Exception:  # one bad state must not stop every later update
                log.exception("strategy update for %s failed", req.session_key)
            for event in req.events:
                await events.ack(event)


async def end_sessions(
    worker: SessionWorker, events: Any, requests: StrategyQueue, partition: int, partitions: int
) -> None:
    """Let go of the sessions of ``partition`` that are over (``streams.session_life``): the
    event being processed is of that partition, so their table rows can be deleted now."""
    for key in worker.life.due():
        if partition_for(key, partitions) == partition:
            worker.end_session(key)
            for req in requests.forget(key):  # nothing waits this long; acknowledged anyway
                for event in req.events:
                    await events.ack(event)
