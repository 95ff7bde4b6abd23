"""What the fault benchmark (``faults.py``) watches to see each part recover: WebSocket
clients that reconnect whenever their socket closes, a reader of the session's strategy
updates, and the laps stored in PostgreSQL."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class WsClient:
    """One WebSocket client that reconnects whenever its socket closes."""

    url: str
    received: list[float] = field(default_factory=list)
    connections: int = 0
    first_not_snapshot: int = 0
    closes: Counter[str] = field(default_factory=Counter)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        from websockets.sync.client import connect

        while not self.stop.is_set():
            try:
                with connect(self.url, open_timeout=5, close_timeout=1) as ws:
                    first = True
                    while not self.stop.is_set():
                        try:
                            text = ws.recv(timeout=1)
                        except TimeoutError:
                            continue
                        message = json.loads(text)
                        if first:
                            self.connections += 1
                            if message.get("type") != "snapshot":
                                self.first_not_snapshot += 1
                            first = False
                        self.note(message)
            except Exception as exc:  # closed, refused while the API restarts, ...
                self.closes[type(exc).__name__] += 1
                time.sleep(0.3)

    def note(self, message: dict) -> None:
        """Keep the wall time of live data: a snapshot's arrival, an update's publication by
        the Redis writer (so updates published before a fault and delivered after it do not
        count as recovered). Heartbeats are no data."""
        kind = message.get("type")
        if kind == "snapshot":
            self.received.append(time.time())
        elif kind == "update":
            self.received.append(float(message.get("published_at") or 0))
        elif kind == "batch":
            for update in message.get("updates", []):
                self.received.append(float(update.get("published_at") or 0))

    def since(self, t: float) -> bool:
        """Live data published (or a snapshot received) after wall time ``t``."""
        return any(r > t for r in self.received)


class StrategyWatch:
    """Arrival times of the session's strategy events on f1.strategy.v1, and their keys."""

    def __init__(self, bootstrap: str, session: str) -> None:
        self.bootstrap = bootstrap
        self.session = session
        self.arrivals: list[float] = []
        self.keys: Counter[tuple] = Counter()
        self.stop = threading.Event()

    def run(self) -> None:
        from confluent_kafka import Consumer

        consumer = Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": f"faults-{uuid.uuid4().hex[:6]}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": 10,
            }
        )
        consumer.subscribe(["f1.strategy.v1"])
        try:
            while not self.stop.is_set():
                for msg in consumer.consume(500, 0.2):
                    if msg.error() or not (msg.key() or b"").decode().startswith(self.session):
                        continue
                    event = json.loads(msg.value())
                    produced = datetime.fromisoformat(event["produced_at"]).timestamp()
                    self.arrivals.append(produced)  # made after a fault, not just delivered
                    t = event.get("event_time") or {}
                    key = (
                        event.get("lap"),
                        event.get("trigger"),
                        event.get("trigger_driver"),
                        round(float(t.get("session_time") or 0), 3),
                    )
                    self.keys[key] += 1
        finally:
            consumer.close()

    def since(self, t: float) -> bool:
        """A strategy event produced after wall time ``t``."""
        return any(a > t for a in self.arrivals)


def laps_stored(database_url: str, session: str) -> int | None:
    import psycopg

    try:
        with psycopg.connect(database_url, connect_timeout=2) as conn:
            q = "SELECT count(*) FROM laps WHERE session_key = %s"
            return conn.execute(q, (session,)).fetchone()[0]
    except psycopg.Error:
        return None
