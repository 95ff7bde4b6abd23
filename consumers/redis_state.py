"""The Redis writer: the live state of every session, and an update message per change.

Keeps, per session, the merged standings (laps + timing + stints), track status, latest
strategy and its history (one win/podium point per lap: the lap's latest), latest degradation
per driver and the session info (keys in ``consumers.redis_keys``), then publishes each
update on ``pitwall:live:{session}`` for the WebSocket gateways. Updates are written per
poll in one pipeline (state first, then the messages, in consumption order): low latency,
few round trips.

Laps, timing and stints come from different topics, so their relative order is not guaranteed:
a row's position and gaps come from whichever lap/timing event has the latest session time,
and a late lap never replaces a newer one.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import orjson
import redis
from confluent_kafka import Consumer
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from consumers.pg_sink import subscribe
from consumers.redis_keys import HISTORY_CAP, SESSIONS, live_channel, session_key_name
from consumers.track_state import Positions, apply_battles
from pitwall.kafka_config import consumer_config, poll_batch
from schemas import DecodeError, decode

log = logging.getLogger(__name__)
GROUP = "pitwall-sink-redis"
TOPICS = [
    "f1.session.v1",
    "f1.laps.v1",
    "f1.timing.v1",
    "f1.stints.v1",
    "f1.track_status.v1",
    "f1.strategy.v1",
    "f1.degradation.v1",
    "f1.battles.v1",
    "f1.telemetry.v1",
]
STANDING_FIELDS = (
    "driver", "driver_number", "team", "position", "gap_to_leader", "interval", "lap_number",
    "last_lap_time", "compound", "tyre_age", "stint", "stops", "pit_in", "pit_out", "retired",
)  # fmt: skip


class StateWriter:
    """Applies events to Redis; keeps a local copy of standings and info to merge into."""

    def __init__(self, client: redis.Redis) -> None:
        self.r = client
        self.standings: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        self.info: dict[str, dict[str, Any]] = {}
        #: (session, driver) -> session time of the event that last set position and gaps
        self.placed_at: dict[tuple[str, str], float] = {}
        #: (session, driver) -> session time of the timing event that last set the gaps
        self.gaps_at: dict[tuple[str, str], float] = {}
        #: session -> lap of the last strategy_history point
        self.history_lap: dict[str, int] = {}
        self.positions = Positions()

    def _row(self, key: str, driver: str) -> dict[str, Any]:
        rows = self.standings[key]
        if driver not in rows:
            cached = self.r.hget(session_key_name(key, "standings"), driver)
            rows[driver] = orjson.loads(cached) if cached else dict.fromkeys(STANDING_FIELDS)
            rows[driver]["driver"] = driver
        return rows[driver]

    def _info(self, key: str) -> dict[str, Any]:
        if key not in self.info:
            cached = self.r.get(session_key_name(key, "info"))
            self.info[key] = orjson.loads(cached) if cached else {"session_key": key}
        return self.info[key]

    def _history_lap(self, key: str) -> int:
        if key not in self.history_lap:
            cached = self.r.lindex(session_key_name(key, "strategy_history"), -1)
            self.history_lap[key] = orjson.loads(cached)["lap"] if cached else -1
        return self.history_lap[key]

    def _newer(self, key: str, driver: str, ev: Any) -> bool:
        """True (and remembered) when ``ev`` is at least as recent as the row's placing."""
        t = ev.event_time.session_time
        if t < self.placed_at.get((key, driver), float("-inf")):
            return False
        self.placed_at[(key, driver)] = t
        return True

    def apply(self, topic: str, raw: bytes, pipe: Any) -> None:
        """Queue on ``pipe`` the state change of one event and its live message."""
        if topic == "f1.telemetry.v1":
            self.positions.add(topic, raw)  # written by ``flush`` at most every 0.2 s
            return
        ev = decode(topic, raw)
        key = ev.session_key
        data = orjson.loads(raw)
        kind = "standings"
        payload: Any
        if ev.type == "session":
            info = self._info(key)
            for f in ("year", "event_name", "session_name", "circuit", "country", "total_laps",
                      "current_lap", "status", "drivers"):  # fmt: skip
                v = data.get(f)
                if v is not None:
                    info[f] = v
            pipe.set(session_key_name(key, "info"), orjson.dumps(info))
            kind, payload = "session", {**info, "produced_at": data.get("produced_at")}
            for d in data.get("drivers") or []:
                row = self._row(key, d["driver"])
                row["driver_number"], row["team"] = d.get("driver_number"), d.get("team")
                pipe.hset(session_key_name(key, "standings"), d["driver"], orjson.dumps(row))
        elif ev.type in ("lap", "timing", "stint"):
            row = self._row(key, ev.driver)
            if ev.type == "lap":
                if (row.get("lap_number") or 0) > ev.lap_number:
                    return  # an older lap arriving late
                row.update(
                    lap_number=ev.lap_number, last_lap_time=ev.lap_time, pit_in=ev.pit_in,
                    pit_out=ev.pit_out, team=ev.team or row.get("team"),
                    driver_number=ev.driver_number,
                )  # fmt: skip
                if ev.position is not None and self._newer(key, ev.driver, ev):
                    row["position"] = ev.position
                # The in-lap can come after the next stint's event (another topic): it leaves
                # the new tyres in place.
                if ev.stint is None or ev.stint >= (row.get("stint") or 0):
                    row.update(compound=ev.compound, tyre_age=ev.tyre_life)
                    if ev.stint:
                        row.update(stint=ev.stint, stops=max(ev.stint - 1, 0))
            elif ev.type == "timing":
                # Gaps come from timing only; the position from the latest of lap or timing.
                t, who = ev.event_time.session_time, (key, ev.driver)
                changed = False
                if t >= self.gaps_at.get(who, float("-inf")):
                    self.gaps_at[who] = t
                    for f in ("gap_to_leader", "interval"):
                        row[f] = getattr(ev, f)
                    changed = True
                if ev.position is not None and self._newer(key, ev.driver, ev):
                    row["position"] = ev.position
                    changed = True
                if not changed:
                    return  # an older update arriving late
            else:
                current = row.get("stint") or 0
                if ev.stint > current:  # new tyres
                    row.update(stint=ev.stint, compound=ev.compound, stops=max(ev.stint - 1, 0))
                    if ev.tyre_age_at_start is not None:
                        row["tyre_age"] = ev.tyre_age_at_start
                elif ev.stint == current:  # after laps on these tyres, which know their age
                    row["compound"] = row.get("compound") or ev.compound
                    if row.get("tyre_age") is None:
                        row["tyre_age"] = ev.tyre_age_at_start
            pipe.hset(session_key_name(key, "standings"), ev.driver, orjson.dumps(row))
            payload = {**row, "produced_at": data.get("produced_at"), "source": ev.type}
        elif ev.type == "track_status":
            pipe.set(session_key_name(key, "track_status"), raw)
            kind, payload = "track_status", data
        elif ev.type == "strategy":
            pipe.set(session_key_name(key, "strategy"), raw)
            recs = data["recommendations"]
            point = {
                "lap": data["lap"],
                "win": {r["driver"]: r["win_prob"] for r in recs},
                "podium": {r["driver"]: r["podium_prob"] for r in recs},
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
            kind, payload = "strategy", data
        elif ev.type == "degradation":
            pipe.hset(session_key_name(key, "degradation"), ev.driver, raw)
            kind, payload = "degradation", data
        elif ev.type == "battles":
            apply_battles(key, topic, raw, data, pipe)
            return
        else:
            return
        pipe.zadd(SESSIONS, {key: time.time()})
        # published_at (epoch s) lets a client tell the pipeline's share of its latency
        # (produced_at -> published_at) from the gateway's and its own.
        message = {"kind": kind, "topic": topic, "published_at": time.time(), "data": payload}
        pipe.publish(live_channel(key), orjson.dumps(message))


def run_redis_writer(
    redis_url: str,
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
        redis_url,
        retry=Retry(ExponentialBackoff(cap=2.0), 6),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
    )
    writer = StateWriter(client)
    consumer = Consumer(consumer_config(group, from_beginning=True))
    subscribe(consumer, TOPICS, from_beginning, on_ready)
    applied = 0
    try:
        while not stop():
            msgs = poll_batch(consumer, 2000, 0.05)
            if not msgs:
                if writer.positions.pending:
                    pipe = client.pipeline(transaction=False)
                    writer.positions.flush(pipe)
                    pipe.execute()
                continue
            pipe = client.pipeline(transaction=False)
            for m in msgs:
                try:
                    writer.apply(m.topic(), m.value() or b"", pipe)
                    applied += 1
                except (DecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
                    # The PostgreSQL sink dead-letters it; here it is only skipped.
                    log.warning("skipping bad %s message at %s: %s", m.topic(), m.offset(), exc)
            writer.positions.flush(pipe)
            pipe.execute()
            consumer.commit(asynchronous=True)
            if on_batch:
                on_batch(applied)
    finally:
        consumer.close()
        client.close()
    return applied
