"""The Faust app: topics, tables and agents of the stream worker.

Data path: the session agent reads the race topics it needs (session, laps, stints, track
status) directly. Producers put all of a session's events on the same partition number of
every topic (``schemas.topics.partition_for``), so one agent instance sees a session's events
in order and its tables are co-partitioned with its input: no re-keying hop (an earlier
version re-keyed through an internal topic, which cost a broker round trip per event). It
keeps per-session and per-driver state in changelogged tables, and publishes:

- ``f1.features.v1`` and ``f1.degradation.v1`` for every completed lap;
- ``f1.strategy.v1`` for every completed lap and every SC/VSC/red (or back to green) change.
  The agent does not wait for the Monte Carlo: it queues the update on the state of the
  moment (``streams.strategy_queue``) and takes the next event, so the next car's lap and
  degradation never wait behind a simulation. One runner makes the updates in order, on a
  thread (the kernel releases the GIL). Laps completed while an update waits are folded into
  it (the newest state wins), but every leader lap and track-status change gets its own.

Bad input (undecodable or invalid events) goes to ``f1.dlq.v1`` with the reason and the raw
bytes; late or duplicate laps (a lap number a driver already completed) do not change state.
Outputs go to the session's partition too. At least once: events are acknowledged by hand,
one that asked for a strategy update (or was folded into one) only once that update is sent,
and Faust flushes the producer before it commits the offsets acknowledged, so a restarted
worker redoes what it had not committed (features and strategy come out again; consumers
treat them idempotently).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from typing import Any

import faust

from pitwall.kafka_config import partition_count
from pitwall.settings import Settings, get_settings
from schemas import (
    DecodeError,
    DegradationEvent,
    DlqEvent,
    EventTime,
    LapEvent,
    SessionEvent,
    StintEvent,
    StrategyEvent,
    TimingEvent,
    TrackState,
    TrackStatusEvent,
    decode,
    encode,
)
from schemas.topics import (
    DEGRADATION,
    DLQ,
    FEATURES,
    LAPS,
    RACE_PARTITIONS,
    SESSION,
    STINTS,
    STRATEGY,
    TRACK_STATUS,
    partition_for,
)
from streams import faust_patch, session_state
from streams.strategy_queue import Request, StrategyQueue

log = logging.getLogger(__name__)

#: f1.timing.v1 (~30k per race) is left out: gaps are taken at the timing line from completed
#: laps, which is what strategy needs, and keeps the worker's input small.
INPUT_TOPICS = (SESSION.name, LAPS.name, STINTS.name, TRACK_STATUS.name)
N_SIMS = 500
PREDICT_LAPS = 5


def make_app(settings: Settings | None = None) -> faust.App:
    """Build the worker's Faust app for the configured broker."""
    settings = settings or get_settings()
    faust_patch.apply(settings.kafka_fetch_wait_ms)
    # Tables must match their input topics' partitions, whatever count those were created with.
    partitions = partition_count(settings.require_kafka, LAPS.name, settings.kafka_partitions)
    session_timeout = settings.kafka_session_timeout_ms / 1000
    app = faust.App(
        "pitwall-worker",
        broker=f"kafka://{settings.require_kafka}",
        store="memory://",
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
        datadir=str(settings.state_dir / "faust"),
    )
    app.pitwall_preload = wire(app, partitions)  # type: ignore[attr-defined]
    return app


def preload(app: faust.App) -> None:
    """Load and warm the race models before the worker starts, so the first lap does not
    block the event loop for seconds (a stall that also widened a Faust rebalance race)."""
    app.pitwall_preload()  # type: ignore[attr-defined]


def wire(app: faust.App, partitions: int = RACE_PARTITIONS) -> Any:
    """Topics, tables and agents (a function so that tests can build several apps).

    Returns the function that loads the models the agents use."""
    inputs = app.topic(*INPUT_TOPICS, key_type=bytes, value_type=bytes)
    features = app.topic(FEATURES.name, key_type=bytes, value_type=bytes)
    degradation = app.topic(DEGRADATION.name, key_type=bytes, value_type=bytes)
    strategy_topic = app.topic(STRATEGY.name, key_type=bytes, value_type=bytes)
    dlq = app.topic(DLQ.name, key_type=bytes, value_type=bytes)
    sessions = app.Table("sessions", partitions=partitions)  # JSON: table_*_serializer
    drivers = app.Table("drivers", partitions=partitions)
    models_box: dict[str, Any] = {}
    # recommend() runs here, off the event loop: while it computes, the features and
    # degradation already sent go out to the broker and the next events are fetched.
    strategy_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pitwall-strategy")
    #: Latest driver rows including timing updates not yet written to the table.
    live: dict[str, dict[str, Any]] = {}

    def models() -> Any:
        """The race models, loaded once (``preload`` does it before the worker starts)."""
        if "m" not in models_box:
            from strategy import warmup
            from strategy.artifacts import load_models

            models_box["m"] = load_models()
            warmup(models_box["m"])
        return models_box["m"]

    async def dead_letter(source: str, exc: Exception, raw: bytes, event: Any) -> Any:
        msg = event.message if event is not None else None
        dl = DlqEvent(
            session_key="unknown",
            event_time=EventTime(session_time=0.0, utc=datetime.now(UTC)),
            produced_at=datetime.now(UTC),
            source=source,
            reason=str(exc)[:2000],
            error_type=type(exc).__name__,
            raw_b64=base64.b64encode(raw or b"").decode(),
            message_key=(msg.key or b"").decode("utf-8", "replace") if msg else None,
            partition=msg.partition if msg else None,
            offset=msg.offset if msg else None,
        )
        return await dlq.send(key=b"dlq", value=encode(dl))

    async def send(topic: Any, session_key: str, key: str, value: bytes) -> None:
        """Queue on the session's partition (delivered by the commit's flush at the latest)."""
        await topic.send(
            key=key.encode(), value=value, partition=partition_for(session_key, partitions)
        )

    @app.agent(inputs)
    async def session_agent(stream: Any) -> None:
        """Keep each session's state; publish features and degradation, and leave strategy
        requests to the runner. Events are acknowledged by hand: one that asked for a
        strategy update only once that update is sent."""
        events = stream.noack()
        requests = StrategyQueue()
        runner = asyncio.create_task(run_strategy(events, requests), name="pitwall-strategy")
        try:
            # One event at a time, as soon as it is fetched: batching on a timer (take_events)
            # holds each event up to its window and wakes the loop every window even when idle.
            async for event in events.events():
                if not await handle(event, requests):
                    await events.ack(event)
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner

    async def run_strategy(events: Any, requests: StrategyQueue) -> None:
        """Make the waiting strategy updates one after another, the oldest first."""
        while True:
            req = await requests.get()
            try:
                await publish_strategy(req)
            except Exception:  # one bad state must not stop every later update
                log.exception("strategy update for %s failed", req.session_key)
            for event in req.events:
                await events.ack(event)

    def request_strategy(
        requests: StrategyQueue,
        s: dict[str, Any],
        trigger: str,
        source: LapEvent | TrackStatusEvent,
        event: Any,
    ) -> bool:
        """Queue a strategy update on the session's state now; False if there is none to
        make (fewer than two cars), and ``event`` is not held for it."""
        state = session_state.race_state(s, _drivers_of(s, drivers))
        if len(state.drivers) < 2:
            return False
        requests.put(Request(s["session_key"], state, trigger, source, s["laps_total"], [event]))
        return True

    async def handle(event: Any, requests: StrategyQueue) -> bool:
        """Apply one input event; True when it waits for a strategy update (its ack too)."""
        try:
            ev = decode(event.message.topic, event.value)
        except DecodeError as exc:
            await dead_letter(event.message.topic, exc, event.value, event)
            return False
        key = ev.session_key
        s = sessions.get(key) or session_state.new_session(key)
        if isinstance(ev, SessionEvent):
            session_state.apply_session(s, ev)
            sessions[key] = s
            return False
        if isinstance(ev, TrackStatusEvent):
            if session_state.apply_track_status(s, ev):
                sessions[key] = s
                return request_strategy(requests, s, "track_status", ev, event)
            return False
        dkey = f"{key}:{ev.driver}"
        d = live.get(dkey) or drivers.get(dkey) or session_state.new_driver(ev.driver)
        if ev.driver not in s["drivers"]:
            s["drivers"].append(ev.driver)
        if isinstance(ev, TimingEvent):
            # ~30k per race: kept in memory and written to the table with each lap,
            # so the changelog carries laps, not every gap update.
            session_state.apply_timing(d, ev)
            live[dkey] = d
            return False
        if isinstance(ev, StintEvent):
            session_state.apply_stint(d, ev)
            drivers[dkey] = d
            live[dkey] = d
            return False
        if isinstance(ev, LapEvent):
            fresh = session_state.apply_lap(s, d, ev)
            drivers[dkey] = d
            live[dkey] = d
            sessions[key] = s
            table = _drivers_of(s, drivers)
            await emit_lap(s, d, ev, table)
            if not fresh:
                # Late or duplicate (e.g. re-read after a restart): the state already
                # has it; its features go out again, idempotent downstream.
                return False
            return request_strategy(requests, s, "lap", ev, event)
        return False

    def _drivers_of(s: dict[str, Any], table: Any) -> dict[str, dict[str, Any]]:
        out = {}
        for drv in s["drivers"]:
            k = f"{s['session_key']}:{drv}"
            row = live.get(k) or table.get(k)
            if row is not None:
                out[drv] = row
        return out

    async def emit_lap(s: dict[str, Any], d: dict[str, Any], ev: LapEvent, table: dict) -> None:
        now = datetime.now(UTC)
        feat = session_state.features_event(s, d, ev, table)
        feat.produced_at = now
        key = f"{ev.session_key}:{ev.driver}"
        await send(features, ev.session_key, key, encode(feat))
        prior = None
        m = models()
        if d["compound"] in m.priors:
            prior = m.priors[d["compound"]].slope * m.deg_scale.get(s["circuit"], 1.0)
        deg = session_state.degradation_of(d, prior)
        ages = [float(d["tyre_age"] or 0) + k for k in range(1, PREDICT_LAPS + 1)]
        laps_total = s["laps_total"] or ev.lap_number
        from strategy.fuel import fuel_effect

        predicted = [
            round(t + fuel_effect(laps_total - ev.lap_number - k), 3)
            for k, t in enumerate(deg.predict(ages), start=1)
        ]
        out = DegradationEvent(
            session_key=ev.session_key,
            event_time=ev.event_time,
            produced_at=now,
            driver=ev.driver,
            lap_number=ev.lap_number,
            stint=d["stint"],
            compound=d["compound"],
            tyre_life=d["tyre_age"],
            slope=deg.slope,
            slope_std=deg.slope_std,
            intercept=deg.intercept,
            predicted_laps=predicted,
            laps_in_fit=deg.n,
            source_produced_at=ev.produced_at,
        )
        await send(degradation, ev.session_key, key, encode(out))

    async def publish_strategy(req: Request) -> None:
        from strategy.decisions import recommend

        started = time.perf_counter()
        recs = await asyncio.get_running_loop().run_in_executor(
            strategy_pool, partial(recommend, req.state, models(), n_sims=N_SIMS)
        )
        compute_ms = (time.perf_counter() - started) * 1000
        source = req.source
        lap = source if isinstance(source, LapEvent) else None
        out = StrategyEvent(
            session_key=req.session_key,
            event_time=source.event_time,
            produced_at=datetime.now(UTC),
            lap=req.state.lap,
            laps_total=req.laps_total,
            track_status=TrackState(req.state.track_status),
            trigger=req.trigger,
            trigger_driver=lap.driver if lap else None,
            trigger_lap=lap.lap_number if lap else None,
            n_sims=N_SIMS,
            compute_ms=round(compute_ms, 2),
            recommendations=recs,
            source_produced_at=source.produced_at,
        )
        await send(strategy_topic, req.session_key, req.session_key, encode(out))

    return models
