"""The stream worker's work, without Faust: race events in; features, degradation and
strategy out.

:class:`SessionWorker` keeps each session's state (:mod:`strategy.live_state`) in two
mappings, which the Faust app backs with changelogged tables and tests with plain dicts, and
hands what it publishes to a ``send`` callable. For every completed lap it publishes
``f1.features.v1`` and ``f1.degradation.v1`` at once; for every lap and every SC/VSC/red (or
back to green) change it returns a strategy :class:`~streams.strategy_queue.Request`, which
the caller queues and later passes to :meth:`SessionWorker.publish_strategy` (the Monte Carlo
runs on a thread so that the event loop goes on meanwhile). Bad input goes to ``f1.dlq.v1``
with the reason and the raw bytes; a late or duplicate lap changes no state.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from schemas import (
    DecodeError,
    DegradationEvent,
    DlqEvent,
    EventTime,
    LapEvent,
    SessionEvent,
    StintEvent,
    StrategyEvent,
    TrackState,
    TrackStatusEvent,
    WeatherEvent,
    decode,
    encode,
)
from schemas.topics import BATTLES, DEGRADATION, DLQ, FEATURES, STRATEGY, TopicSpec
from strategy.artifacts import RaceModels
from strategy.battles import BattleModel, battles_event
from strategy.decisions import recommend
from strategy.live_state import (
    CarState,
    SessionState,
    apply_lap,
    features_of,
    race_state,
    stint_forecast,
)
from strategy.pace import PaceMemo
from streams.session_life import SessionLife
from streams.strategy_queue import Request

log = logging.getLogger(__name__)

#: Sends one encoded event: topic, session key (its partition), message key, value.
Send = Callable[[TopicSpec, str, str, bytes], Awaitable[Any]]

N_SIMS = 500  # Monte Carlo races per strategy update
PREDICT_LAPS = 5  # laps ahead in each degradation event


@dataclass(frozen=True)
class Computed:
    """What the executor computed for one strategy update."""

    recommendations: list[Any]
    compute_ms: float
    battles: Any = None  # the battle forecast event, on a lap (with the model trained)


@dataclass(frozen=True)
class Origin:
    """Where an input message came from (for its dead letter)."""

    key: bytes | None = None
    partition: int | None = None
    offset: int | None = None


class SessionWorker:
    """Applies race events to session state and publishes what follows from them."""

    def __init__(
        self,
        models: RaceModels,
        send: Send,
        sessions: MutableMapping[str, Any],
        cars: MutableMapping[str, Any],
        *,
        executor: Executor | None = None,
        n_sims: int = N_SIMS,
        predict_laps: int = PREDICT_LAPS,
        battles: BattleModel | None = None,
        life: SessionLife | None = None,
    ) -> None:
        self.models = models
        self.life = life or SessionLife()
        self.battles = battles
        self.send = send
        self.sessions_table = sessions
        self.cars_table = cars
        self.executor = executor
        self.n_sims = n_sims
        self.predict_laps = predict_laps
        self._sessions: dict[str, SessionState] = {}
        self._cars: dict[str, CarState] = {}
        #: each session's pace inputs per car, recomputed when that car runs a lap
        self._pace: dict[str, PaceMemo] = {}

    # -- state, cached over its table rows ------------------------------------------------
    def forget(self) -> None:
        """Drop the cached state (after a rebalance another worker may have moved it on)."""
        self._sessions.clear()
        self._cars.clear()
        self._pace.clear()

    def session(self, key: str) -> SessionState:
        s = self._sessions.get(key)
        if s is None:
            stored = self.sessions_table.get(key)
            s = SessionState.from_dict(stored) if stored else SessionState.new(key)
            self._sessions[key] = s
        return s

    def car(self, session_key: str, driver: str) -> CarState:
        k = f"{session_key}:{driver}"
        c = self._cars.get(k)
        if c is None:
            stored = self.cars_table.get(k)
            c = CarState.from_dict(stored) if stored else CarState.new(driver)
            self._cars[k] = c
        return c

    def release(self, session_key: str) -> None:
        """Drop a session's cached state (its table rows stay)."""
        s = self._sessions.pop(session_key, None)
        self._pace.pop(session_key, None)
        for driver in s.drivers if s else ():
            self._cars.pop(f"{session_key}:{driver}", None)
        if s is not None:
            log.info("session %s let go of: cached state dropped", session_key)

    def end_session(self, session_key: str) -> None:
        """Let a session go: its table rows and cached state (call it while an event of the
        session's partition is processed: a table changes only then)."""
        stored = self.sessions_table.get(session_key)
        cached = self._sessions.get(session_key)
        drivers = cached.drivers if cached else (stored or {}).get("drivers", [])
        self.release(session_key)
        for driver in drivers:
            if self.cars_table.get(f"{session_key}:{driver}") is not None:
                del self.cars_table[f"{session_key}:{driver}"]
        if stored is not None:
            del self.sessions_table[session_key]
        self.life.drop(session_key)
        log.info("session %s let go of: table rows deleted (%d cars)", session_key, len(drivers))

    def cars_of(self, s: SessionState) -> dict[str, CarState]:
        return {d: self.car(s.session_key, d) for d in s.drivers}

    def _save_session(self, s: SessionState) -> None:
        self.sessions_table[s.session_key] = s.to_dict()

    def _save_car(self, session_key: str, car: CarState) -> None:
        self.cars_table[f"{session_key}:{car.driver}"] = car.to_dict()

    # -- events -----------------------------------------------------------------------------
    async def handle(self, topic: str, raw: bytes, origin: Origin | None = None) -> Request | None:
        """Apply one input event; the strategy update it calls for, if any."""
        try:
            ev = decode(topic, raw)
        except DecodeError as exc:
            await self.dead_letter(topic, exc, raw, origin)
            return None
        status = ev.status if isinstance(ev, SessionEvent) and ev.kind == "status" else None
        self.life.heard(ev.session_key, status)
        s = self.session(ev.session_key)
        if isinstance(ev, SessionEvent) and ev.kind == "car_status" and ev.driver:
            s.add_driver(ev.driver)
            car = self.car(s.session_key, ev.driver)
            went_out = car.apply_status(ev)
            self._save_car(s.session_key, car)
            self._save_session(s)
            # A car out of the race leaves the simulation at once: update the strategy.
            return self._request(s, "car_status", ev) if went_out else None
        if isinstance(ev, SessionEvent):
            s.apply_session(ev)
            if s.conditions.dry_reference is None and s.circuit:
                s.conditions.dry_reference = self.models.dry_reference(s.circuit)
            self._save_session(s)
            return None
        if isinstance(ev, WeatherEvent):
            s.apply_conditions(ev)
            self._save_session(s)
            return None
        if isinstance(ev, TrackStatusEvent):
            if not s.apply_track_status(ev):
                return None
            self._save_session(s)
            return self._request(s, "track_status", ev)
        if not isinstance(ev, StintEvent | LapEvent):
            return None
        s.add_driver(ev.driver)
        car = self.car(s.session_key, ev.driver)
        if isinstance(ev, StintEvent):
            car.apply_stint(ev)
            s.apply_conditions(ev)
            self._save_car(s.session_key, car)
            self._save_session(s)
            return None
        fresh = apply_lap(s, car, ev)
        self._save_car(s.session_key, car)
        self._save_session(s)
        await self.emit_lap(s, car, ev)
        if not fresh:
            # Late or duplicate (e.g. re-read after a restart): the state already has it;
            # its features go out again, idempotent downstream.
            return None
        return self._request(s, "lap", ev)

    def _request(
        self, s: SessionState, trigger: str, source: LapEvent | TrackStatusEvent | SessionEvent
    ) -> Request | None:
        """A strategy update on the session's state now; None with fewer than two cars."""
        state = race_state(s, self.cars_of(s))
        if len(state.drivers) < 2:
            return None
        state.memo = self._pace.setdefault(s.session_key, PaceMemo())
        return Request(s.session_key, state, trigger, source, s.laps_total)

    async def emit_lap(self, s: SessionState, car: CarState, ev: LapEvent) -> None:
        """Publish the lap's features and the stint's degradation."""
        now = datetime.now(UTC)
        key = f"{ev.session_key}:{ev.driver}"
        feat = features_of(s, car, ev, self.cars_of(s))
        feat.produced_at = now
        await self.send(FEATURES, ev.session_key, key, encode(feat))
        forecast = stint_forecast(s, car, self.models, ev.lap_number, self.predict_laps)
        deg = forecast.fit
        out = DegradationEvent(
            session_key=ev.session_key,
            event_time=ev.event_time,
            produced_at=now,
            driver=ev.driver,
            lap_number=ev.lap_number,
            stint=car.row.stint,
            compound=car.row.compound,
            tyre_life=car.row.tyre_age,
            slope=deg.slope,
            slope_std=deg.slope_std,
            intercept=deg.intercept,
            predicted_laps=forecast.predicted,
            laps_in_fit=deg.n,
            source_produced_at=ev.produced_at,
        )
        await self.send(DEGRADATION, ev.session_key, key, encode(out))

    async def publish_strategy(self, req: Request) -> StrategyEvent:
        """Simulate ``req``'s race state (on the executor) and publish the strategy update,
        and on a lap the battle forecast of the same state."""
        [out] = await self.publish_strategies([req])
        return out

    async def publish_strategies(self, reqs: list[Request]) -> list[StrategyEvent]:
        """Make the updates of a batch (:meth:`submit`), publishing each once it is done."""
        jobs = self.submit(reqs)
        return [await self.publish(req, await job) for req, job in zip(reqs, jobs, strict=True)]

    def submit(self, reqs: list[Request]) -> list[asyncio.Future[Computed]]:
        """Hand every request's computation to the executor at once, in order: it goes from
        one to the next without a round trip through the event loop, while the loop
        publishes the ones done."""
        loop = asyncio.get_running_loop()
        return [loop.run_in_executor(self.executor, self.compute, req) for req in reqs]

    def compute(self, req: Request) -> Computed:
        """``recommend()`` on ``req``'s state, timed, and on a lap the battle forecast of the
        same state (on the executor's thread: pure computation, no I/O)."""
        started = time.perf_counter()
        recs = recommend(req.state, self.models, n_sims=self.n_sims)
        compute_ms = (time.perf_counter() - started) * 1000
        battles = None
        if self.battles is not None and req.trigger == "lap":
            source = req.source
            battles = battles_event(req.state, self.battles, source.event_time, source.produced_at)
        return Computed(recs, compute_ms, battles)

    async def publish(self, req: Request, done: Computed) -> StrategyEvent:
        """Publish ``req``'s update (and its battle forecast) from what was computed."""
        source = req.source
        if done.battles is not None:
            await self.send(BATTLES, req.session_key, req.session_key, encode(done.battles))
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
            n_sims=self.n_sims,
            compute_ms=round(done.compute_ms, 2),
            recommendations=[],
            retired=list(req.state.out),
            source_produced_at=source.produced_at,
        )
        # The engine's advice goes into the JSON as plain values: no schema object per car
        # (the gateway and the API validate it at their edge).
        body = out.model_dump(mode="python", exclude_none=False)
        body["recommendations"] = [a.as_dict() for a in done.recommendations]
        await self.send(STRATEGY, req.session_key, req.session_key, orjson.dumps(body))
        out.recommendations = done.recommendations  # the advice as computed, for the caller
        return out

    async def dead_letter(
        self, source: str, exc: Exception, raw: bytes, origin: Origin | None
    ) -> None:
        origin = origin or Origin()
        dl = DlqEvent(
            session_key="unknown",
            event_time=EventTime(session_time=0.0, utc=datetime.now(UTC)),
            produced_at=datetime.now(UTC),
            source=source,
            reason=str(exc)[:2000],
            error_type=type(exc).__name__,
            raw_b64=base64.b64encode(raw or b"").decode(),
            message_key=(origin.key or b"").decode("utf-8", "replace") if origin.key else None,
            partition=origin.partition,
            offset=origin.offset,
        )
        await self.send(DLQ, "unknown", "dlq", encode(dl))
