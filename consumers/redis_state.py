"""The Redis writer: the live state of every session, and an update message per change.

It runs on the sinks' consume loop (:mod:`consumers.loop`) and keeps, per session, what
``schemas.live`` names: the standings (one :class:`~schemas.live.StandingRow` per car, merged
from laps, timing and stints by the race model's standings rules), track status, the latest
strategy and its history (one win/podium point per lap: the lap's latest), the latest
degradation per driver, the session info, the latest battle forecast and the cars' latest
X/Y (``consumers.track_state``, throttled). Each change is also published on the session's
live channel for the WebSocket gateways. A batch is one Redis pipeline (state first, then the
messages, in consumption order): low latency, few round trips.

One handler per event type; each returns the live message of the change, or None when the
event changed nothing (an older update arriving late). A lap's standings message also carries
the lap's own tyres and stops under ``lap`` (the strategy chart's and race trace's point).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import orjson
import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from consumers.loop import DeadLetters, Decoded, LoopStats, consume
from consumers.track_state import Positions
from core.settings import Settings
from schemas.live import (
    HISTORY_CAP,
    RACE_CONTROL_CAP,
    SESSIONS,
    StandingRow,
    live_channel,
    session_key_name,
)
from schemas.topics import (
    BATTLES,
    DEGRADATION,
    LAPS,
    RACE_CONTROL,
    SESSION,
    STINTS,
    STRATEGY,
    TELEMETRY,
    TIMING,
    TRACK_STATUS,
    WEATHER,
)
from strategy import standings

log = logging.getLogger(__name__)
GROUP = "pitwall-sink-redis"
TOPICS = [
    t.name
    for t in (
        SESSION, LAPS, TIMING, STINTS, TRACK_STATUS, STRATEGY, DEGRADATION, BATTLES, TELEMETRY,
        RACE_CONTROL, WEATHER,
    )
]  # fmt: skip
#: Session info fields a session event may set.
INFO_FIELDS = (
    "year", "event_name", "session_name", "circuit", "country", "total_laps", "current_lap",
    "status", "drivers",
)  # fmt: skip

#: A handler's result: the live message's kind and data (a dict, or the event's own JSON as
#: an ``orjson.Fragment``), or None when nothing changed.
Update = tuple[str, dict[str, Any] | orjson.Fragment] | None


def _iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


class StateWriter:
    """Applies events to Redis; keeps a local copy of the standings and info to merge into."""

    def __init__(self, client: redis.Redis) -> None:
        self.r = client
        self.standings: dict[str, dict[str, StandingRow]] = defaultdict(dict)
        self.info: dict[str, dict[str, Any]] = {}
        #: session -> lap of the last strategy_history point
        self.history_lap: dict[str, int] = {}
        #: session -> what its timing line has seen
        self.lines: dict[str, standings.RaceLine] = {}
        #: sessions whose standings changed in the batch being prepared
        self.touched: set[str] = set()
        #: the cars' latest X/Y, written by ``positions.flush`` at most every 0.2 s a session
        self.positions = Positions()
        self.handlers: dict[str, Callable[[Any, bytes, Any], Update]] = {
            "session": self.on_session,
            "lap": self.on_lap,
            "timing": self.on_timing,
            "stint": self.on_stint,
            "track_status": self.on_track_status,
            "strategy": self.on_strategy,
            "degradation": self.on_degradation,
            "battles": self.on_battles,
            "race_control": self.on_race_control,
            "weather": self.on_weather,
            "telemetry": self.on_telemetry,
        }

    # -- what the writer remembers, read back from Redis after a restart --------------------
    def row(self, key: str, driver: str) -> StandingRow:
        rows = self.standings[key]
        if driver not in rows:
            cached = self.r.hget(session_key_name(key, "standings"), driver)
            rows[driver] = (
                StandingRow.model_validate_json(cached) if cached else StandingRow(driver=driver)
            )
        return rows[driver]

    def _info(self, key: str) -> dict[str, Any]:
        if key not in self.info:
            cached = self.r.get(session_key_name(key, "info"))
            self.info[key] = orjson.loads(cached) if cached else {"session_key": key}
        return self.info[key]

    def line(self, key: str) -> standings.RaceLine:
        if key not in self.lines:
            cached = self.r.get(session_key_name(key, "line"))
            self.lines[key] = (
                standings.RaceLine.from_dict(orjson.loads(cached))
                if cached
                else standings.RaceLine()
            )
        return self.lines[key]

    def _history_lap(self, key: str) -> int:
        if key not in self.history_lap:
            cached = self.r.lindex(session_key_name(key, "strategy_history"), -1)
            self.history_lap[key] = orjson.loads(cached)["lap"] if cached else -1
        return self.history_lap[key]

    # -- one event --------------------------------------------------------------------------
    def apply(self, topic: str, ev: Any, raw: bytes, pipe: Any) -> None:
        """Queue on ``pipe`` the state change of one decoded event and its live message."""
        update = self.handlers[ev.type](ev, raw, pipe)
        if update is None:
            return
        kind, data = update
        pipe.zadd(SESSIONS, {ev.session_key: time.time()})
        self._publish(pipe, ev.session_key, topic, kind, data)

    @staticmethod
    def _publish(pipe: Any, key: str, topic: str, kind: str, data: Any) -> None:
        # published_at (epoch s) lets a client tell the pipeline's share of its latency
        # (produced_at -> published_at) from the gateway's and its own.
        message = {"kind": kind, "topic": topic, "published_at": time.time(), "data": data}
        pipe.publish(live_channel(key), orjson.dumps(message))

    def finish(self, pipe: Any) -> None:
        """After a batch: the gaps of the sessions it touched that became old or fresh again,
        stored and published as standings updates."""
        for key in self.touched:
            rows = list(self.standings[key].values())
            laps = self._info(key).get("total_laps")
            for row in standings.mark_old_gaps(rows, self.line(key), laps):
                payload = row.model_dump()
                pipe.hset(session_key_name(key, "standings"), row.driver, orjson.dumps(payload))
                payload.update(produced_at=None, source="gap_marks")
                self._publish(pipe, key, TIMING.name, "standings", payload)
        self.touched.clear()

    def _standing(self, ev: Any, row: StandingRow, pipe: Any) -> Update:
        self.touched.add(ev.session_key)
        payload = row.model_dump()
        pipe.hset(session_key_name(ev.session_key, "standings"), row.driver, orjson.dumps(payload))
        payload.update(produced_at=_iso(ev.produced_at), source=ev.type)
        return "standings", payload

    def on_session(self, ev: Any, raw: bytes, pipe: Any) -> Update:
        key = ev.session_key
        if ev.kind == "car_status":
            if not ev.driver:
                return None
            row = self.row(key, ev.driver)
            if not standings.apply_status(row, ev):
                return None
            return self._standing(ev, row, pipe)
        info = self._info(key)
        data = orjson.loads(raw)
        for f in INFO_FIELDS:
            v = data.get(f)
            if v is not None:
                info[f] = v
        pipe.set(session_key_name(key, "info"), orjson.dumps(info))
        for d in data.get("drivers") or []:
            row = self.row(key, d["driver"])
            row.driver_number, row.team = d.get("driver_number"), d.get("team")
            pipe.hset(session_key_name(key, "standings"), row.driver, row.model_dump_json())
        return "session", {**info, "produced_at": data.get("produced_at")}

    def on_lap(self, ev: Any, raw: bytes, pipe: Any) -> Update:
        row = self.row(ev.session_key, ev.driver)
        line = self.line(ev.session_key)
        merge = standings.apply_lap(row, ev, line)
        if not merge.applied:
            return None  # an older lap arriving late
        if merge.fresh:
            pipe.set(session_key_name(ev.session_key, "line"), orjson.dumps(line.to_dict()))
        kind, payload = self._standing(ev, row, pipe)
        # The lap's own tyres (the row may already be on the next stint's): the charts' point.
        payload["lap"] = {
            "lap": ev.lap_number, "compound": ev.compound, "stint": ev.stint,
            "tyre_life": ev.tyre_life, "pit_in": ev.pit_in, "pit_out": ev.pit_out,
        }  # fmt: skip
        return kind, payload

    def on_timing(self, ev: Any, raw: bytes, pipe: Any) -> Update:
        row = self.row(ev.session_key, ev.driver)
        self.line(ev.session_key).seen(ev.event_time.session_time)
        if not standings.apply_timing(row, ev):
            return None  # an older update arriving late
        return self._standing(ev, row, pipe)

    def on_stint(self, ev: Any, raw: bytes, pipe: Any) -> Update:
        row = self.row(ev.session_key, ev.driver)
        standings.apply_stint(row, ev)
        return self._standing(ev, row, pipe)

    def on_track_status(self, ev: Any, raw: bytes, pipe: Any) -> Update:
        pipe.set(session_key_name(ev.session_key, "track_status"), raw)
        return "track_status", orjson.Fragment(raw)

    def on_strategy(self, ev: Any, raw: bytes, pipe: Any) -> Update:
        key = ev.session_key
        pipe.set(session_key_name(key, "strategy"), raw)
        recs = ev.recommendations
        point = {
            "lap": ev.lap,
            "win": {r.driver: r.win_prob for r in recs},
            "podium": {r.driver: r.podium_prob for r in recs},
        }
        # One point per lap (the lap's latest estimate): a chart of the race, not of events.
        hist = session_key_name(key, "strategy_history")
        last = self._history_lap(key)
        if point["lap"] > last:
            pipe.rpush(hist, orjson.dumps(point))
            pipe.ltrim(hist, -HISTORY_CAP, -1)
            self.history_lap[key] = point["lap"]
        elif point["lap"] == last:
            pipe.lset(hist, -1, orjson.dumps(point))
        return "strategy", orjson.Fragment(raw)

    def on_degradation(self, ev: Any, raw: bytes, pipe: Any) -> Update:
        pipe.hset(session_key_name(ev.session_key, "degradation"), ev.driver, raw)
        return "degradation", orjson.Fragment(raw)

    def on_race_control(self, ev: Any, raw: bytes, pipe: Any) -> Update:
        name = session_key_name(ev.session_key, "race_control")
        pipe.rpush(name, raw)
        pipe.ltrim(name, -RACE_CONTROL_CAP, -1)
        return "race_control", orjson.Fragment(raw)

    def on_weather(self, ev: Any, raw: bytes, pipe: Any) -> Update:
        pipe.set(session_key_name(ev.session_key, "weather"), raw)
        return "weather", orjson.Fragment(raw)

    def on_battles(self, ev: Any, raw: bytes, pipe: Any) -> Update:
        pipe.set(session_key_name(ev.session_key, "battles"), raw)
        return "battles", orjson.Fragment(raw)

    def on_telemetry(self, ev: Any, raw: bytes, pipe: Any) -> Update:
        self.positions.add(ev)
        return None  # published with the session's other cars by ``positions.flush``


class RedisSink:
    """The Redis writer on the consume loop: each batch one pipeline."""

    group = GROUP
    topics = TOPICS
    dead_letters = False  # the PostgreSQL sink dead-letters bad input; here it is skipped

    def __init__(self, client: redis.Redis, group: str = GROUP) -> None:
        self.client = client
        self.group = group
        self.writer = StateWriter(client)
        self.applied = 0

    def prepare(self, batch: Iterable[Decoded], dead_letter: DeadLetters) -> Any:
        pipe = self.client.pipeline(transaction=False)
        before = self.applied
        for msg, ev in batch:
            try:
                self.writer.apply(msg.topic(), ev, msg.value() or b"", pipe)
            except (KeyError, TypeError, ValueError) as exc:
                dead_letter(msg, f"cannot apply to the live state: {exc}", type(exc).__name__)
                continue
            self.applied += 1
        self.writer.finish(pipe)
        if self.writer.positions.flush(pipe) and not self.applied - before:
            # The loop writes only batches with messages: positions left over once the
            # telemetry stops are written here. (A batch in flight on the writer thread holds
            # positions at least 0.2 s older.)
            pipe.execute()
        return pipe

    def write(self, pipe: Any) -> None:
        pipe.execute()


def run_redis_writer(
    settings: Settings,
    stop: Callable[[], bool],
    group: str = GROUP,
    from_beginning: bool = False,
    on_batch: Callable[[int], None] | None = None,
    on_ready: Callable[[], None] | None = None,
) -> int:
    """Consume until ``stop()``; returns the number of events applied.

    ``from_beginning`` rebuilds the state from the start of every partition, ignoring
    committed offsets. ``on_ready`` is called once partitions are assigned.
    """
    client = redis.Redis.from_url(
        settings.require_redis,
        retry=Retry(ExponentialBackoff(cap=2.0), 6),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
    )
    sink = RedisSink(client, group)

    def batch_done(_: LoopStats) -> None:
        if on_batch:
            on_batch(sink.applied)

    try:
        consume(
            settings,
            sink,
            stop,
            from_beginning=from_beginning,
            max_batch=2000,
            on_batch=batch_done,
            on_ready=on_ready,
        )
    finally:
        client.close()
    return sink.applied
