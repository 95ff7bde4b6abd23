"""Faults survived, measured: kill -9 each part of a running stack during a paced replay.

Runs ``pitwall up --with worker --with sink --with api`` on its own embedded servers (durable
PostgreSQL: ``PITWALL_PG_DURABLE=1``; ``fault_stack.py``), five WebSocket clients on the
replayed session, and 2023 Monaco replayed from lights out at ``--speed`` under a fresh
session key. Every ``--gap`` seconds one fault, in turn: kill -9 of the stream worker, the
PostgreSQL sink, the Redis writer and the API/gateway; of Redis and of PostgreSQL; of the
embedded broker (which comes back empty: ``pitwall up`` restarts it with its topics and the
services on it, and the replay publishes the race so far again); then of the whole stack at
once (``pitwall up`` and everything it started), after which ``pitwall up`` is started again
on the same ports and state directory. For each fault it prints the seconds until

* the strategy stream recovers (a new ``f1.strategy.v1`` event of the session),
* the tables recover (a new lap of the session lands in PostgreSQL),
* the WebSocket clients recover (every client has received live data, an update or a
  snapshot, not a heartbeat, after the fault; a client whose socket closed has reconnected,
  and its first message was a fresh snapshot).

Once the replay has finished and the pipeline drained, PostgreSQL is checked against the
replay: every lap and stint of the timeline stored exactly once, every strategy update the
last broker carried (distinct by its natural key) stored exactly once, every leader lap with
an update, and every WebSocket (re)connection began with a snapshot. It ends with
``OK: lost 0, duplicated 0`` or the failures, and stops the stack with SIGTERM (checking that
``processes.json`` is empty). ``tests/test_faults.py`` runs a short version in the suite.

    python benchmarks/faults.py [--speed 20] [--gap 30] [--race "2023 Monaco"]
        [--faults worker,pg-sink,broker] [--to-lap 25]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fault_observers import StrategyWatch, WsClient, laps_stored
from fault_stack import FAULTS, StackProcess, free_port

#: One fault's row: fault, seconds until the strategy stream, the tables and the WebSocket
#: clients recovered (None: not within the recovery timeout).
FaultRow = tuple[str, float | None, float | None, float | None]


@dataclass
class FaultRun:
    """What to replay and break."""

    race: str = "2023 Monaco"
    speed: float = 20.0
    gap: float = 30.0
    faults: tuple[str, ...] = FAULTS
    clients: int = 5
    recovery_timeout: float = 90.0
    #: replay up to the end of this leader lap only (None: the whole race)
    to_lap: int | None = None
    #: seconds from the replay's start to the first fault (None: ``gap``)
    first: float | None = None


@dataclass
class Verdict:
    """The recovery rows and what the tables hold against the replay."""

    rows: list[FaultRow] = field(default_factory=list)
    lost: int = 0
    duplicated: int = 0
    failures: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures and self.lost == 0 and self.duplicated == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", type=float, default=20.0)
    parser.add_argument("--gap", type=float, default=30.0, help="seconds between faults")
    parser.add_argument("--race", default="2023 Monaco")
    parser.add_argument("--clients", type=int, default=5)
    parser.add_argument("--recovery-timeout", type=float, default=90.0)
    parser.add_argument("--faults", default=",".join(FAULTS), help="in this order")
    parser.add_argument("--to-lap", type=int, default=None, help="replay laps up to this one")
    parser.add_argument("--first", type=float, default=None, help="seconds to the first fault")
    args = parser.parse_args()
    faults = tuple(f for f in args.faults.split(",") if f)
    unknown = set(faults) - set(FAULTS)
    if unknown:
        raise SystemExit(f"unknown faults {sorted(unknown)}; choose from {', '.join(FAULTS)}")
    run = FaultRun(args.race, args.speed, args.gap, faults, args.clients, args.recovery_timeout,
                   args.to_lap, args.first)  # fmt: skip
    verdict = run_faults(run)
    print_table(verdict)
    raise SystemExit(0 if verdict.ok else 1)


def run_faults(run: FaultRun, say: Callable[[str], object] = print) -> Verdict:
    """Start the stack, replay under faults, drain, check; the stack is stopped at the end."""
    state = Path(tempfile.mkdtemp(prefix="pitwall-faults-"))
    stack = StackProcess(state, free_port())
    say(f"state {state}, log {state / 'up.log'}")
    stack.start()
    watch: StrategyWatch | None = None
    clients: list[WsClient] = []
    try:
        urls = stack.urls()
        base = f"http://127.0.0.1:{stack.api_port}"
        if wait_for(lambda: _ok(f"{base}/health/live"), 120) is None:
            raise SystemExit("the API did not answer")
        timeline = _timeline(run, state, urls)
        counts = Counter(e.type for e in timeline.events)
        time.sleep(5)  # the worker and sinks join their groups
        watch = StrategyWatch(urls["KAFKA_BOOTSTRAP"], timeline.session_key)
        ws_url = f"ws://127.0.0.1:{stack.api_port}/ws/sessions/{timeline.session_key}"
        clients = [WsClient(ws_url) for _ in range(run.clients)]
        for target in (watch.run, *(c.run for c in clients)):
            threading.Thread(target=target, daemon=True).start()
        failed: list[str] = []
        replay = threading.Thread(
            target=_replay, args=(timeline, urls, run.speed, failed), daemon=True
        )
        replay.start()
        say(f"replaying {timeline.session_key} at {run.speed:g}x; faults every {run.gap:g} s")
        verdict = Verdict()
        breaker = Breaker(stack, urls, timeline.session_key, watch, clients, say)
        verdict.rows = breaker.inject(run, replay)
        replay.join()
        say("replay done; waiting for the pipeline to drain")
        wait_for(lambda: (laps_stored(urls["DATABASE_URL"], timeline.session_key) or 0)
                 >= counts["lap"], 180)  # fmt: skip
        time.sleep(10)  # the last strategy updates
        try:
            check(verdict, urls["DATABASE_URL"], timeline.session_key, counts, watch, clients)
        except Exception as exc:  # e.g. the stack is gone: nothing can be counted
            verdict.lost = sum(counts.values())
            verdict.failures.append(f"cannot check the tables: {type(exc).__name__}: {exc}")
        verdict.failures += [f"the replay failed: {f}" for f in failed]
        return verdict
    finally:
        for c in clients:
            c.stop.set()
        if watch is not None:
            watch.stop.set()
        say(stack.stop())


def _timeline(run: FaultRun, state: Path, urls: dict[str, str]):
    """The race under a fresh session key, cut after leader lap ``run.to_lap``."""
    from core.settings import Settings
    from replay.timeline import build_timeline

    year, event = run.race.split(" ", 1)
    settings = Settings(state_dir=state, **{k.lower(): v for k, v in urls.items()})
    timeline = build_timeline(int(year), event, "R", settings=settings)
    session = f"{timeline.session_key}-faults{uuid.uuid4().hex[:6]}"
    timeline = timeline.with_session_key(session)
    end = timeline.lap_start_time(run.to_lap + 1) if run.to_lap else None
    if end is not None:
        timeline.events = [e for e in timeline.events if e.event_time.session_time < end]
    return timeline


@dataclass
class Breaker:
    """Kills the parts of the running stack one after the other and times recoveries."""

    stack: StackProcess
    urls: dict[str, str]
    session: str
    watch: StrategyWatch
    clients: list[WsClient]
    say: Callable[[str], object]

    def inject(self, run: FaultRun, replay: threading.Thread) -> list[FaultRow]:
        """Every ``run.gap`` seconds the next fault, while the replay runs."""
        rows = []
        time.sleep(run.gap if run.first is None else run.first)
        for fault in run.faults:
            if not replay.is_alive():
                self.say(f"the replay ended before the {fault} fault")
                rows.append((fault, None, None, None))
                break
            row, at = self.one(fault, run.recovery_timeout)
            rows.append(row)
            time.sleep(max(0.0, run.gap - (time.monotonic() - at)))
        return rows

    def one(self, fault: str, timeout: float) -> tuple[FaultRow, float]:
        """kill -9 what ``fault`` names and time the recoveries; the row and the monotonic
        time of the kill."""
        db = self.urls["DATABASE_URL"]
        db_port = int(db.rsplit(":", 1)[1].split("/")[0])
        redis_port = int(self.urls["REDIS_URL"].rsplit(":", 1)[1].split("/")[0])
        victim = None if fault == "stack" else self.stack.victim(fault, db_port, redis_port)
        at, wall = time.monotonic(), time.time()
        if victim is None:
            killed = self.stack.kill_all()
            self.stack.start()  # the same ports and state directory
        else:
            import os
            import signal

            os.kill(victim, signal.SIGKILL)
            killed = [victim]
        # Rows the victim committed before it died are in by now: count from here.
        time.sleep(0.3)
        before = laps_stored(db, self.session) or 0
        got = recovered(
            at,
            {
                "stream": lambda: self.watch.since(wall),
                "tables": lambda: (laps_stored(db, self.session) or 0) > before,
                "sockets": lambda: all(c.since(wall) for c in self.clients),
            },
            timeout,
        )
        stream, tables, sockets = got["stream"], got["tables"], got["sockets"]
        self.say(f"  kill -9 {fault:<12} ({len(killed)} pid(s) {killed[:3]}): strategy "
                 f"{_s(stream)}, tables {_s(tables)}, WebSockets {_s(sockets)}")  # fmt: skip
        return (fault, stream, tables, sockets), at


def recovered(at: float, checks: dict, timeout: float) -> dict[str, float | None]:
    """Seconds from monotonic time ``at`` until each check first holds (None: not within
    ``timeout``), all polled together."""
    got: dict[str, float | None] = dict.fromkeys(checks)
    pending = dict(checks)
    while pending and time.monotonic() - at < timeout:
        for name, check_ in list(pending.items()):
            if check_():
                got[name] = time.monotonic() - at
                del pending[name]
        time.sleep(0.1)
    return got


def wait_for(predicate, timeout: float) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.1)
    return None


def print_table(verdict: Verdict, say: Callable[[str], object] = print) -> None:
    """The recovery table, what the tables hold, and the verdict."""
    say("")
    say("| fault (kill -9) | strategy stream | tables (laps) | WebSocket clients |")
    say("|---|---|---|---|")
    for fault, stream, tables, sockets in verdict.rows:
        say(f"| {fault} | {_s(stream)} | {_s(tables)} | {_s(sockets)} |")
    say("")
    for line in verdict.lines:
        say(line)
    if verdict.ok:
        say("OK: lost 0, duplicated 0")
    else:
        say(f"FAILED: lost {verdict.lost}, duplicated {verdict.duplicated}")
        for f in verdict.failures:
            say(f"  - {f}")


def check(
    verdict: Verdict, database_url: str, session: str, counts: Counter, watch, clients
) -> None:
    """PostgreSQL against the replay and the strategy stream; the WebSocket clients."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        for table, kind, key in (
            ("laps", "lap", "driver, lap_number"),
            ("stints", "stint", "driver, stint"),
        ):
            q = f"SELECT count(*) FROM {table} WHERE session_key = %s"
            stored = conn.execute(q, (session,)).fetchone()[0]
            dup = conn.execute(
                f"SELECT count(*) FROM (SELECT {key} FROM {table} WHERE session_key = %s "
                f"GROUP BY {key} HAVING count(*) > 1) x",
                (session,),
            ).fetchone()[0]
            missing = max(counts[kind] - stored, 0)
            verdict.lost += missing
            verdict.duplicated += dup
            verdict.lines.append(f"{table}: replayed {counts[kind]}, stored {stored}, "
                                 f"duplicated {dup}")  # fmt: skip
            if missing:
                verdict.failures.append(f"{table}: {missing} of {counts[kind]} missing")
        rows = conn.execute(
            "SELECT lap, trigger, trigger_driver, round(session_time::numeric, 3) "
            "FROM strategy WHERE session_key = %s",
            (session,),
        ).fetchall()
        # Every leader lap gets a strategy update of its own (README: strategy cadence).
        leader_laps = conn.execute(
            "SELECT DISTINCT lap_number FROM laps WHERE session_key = %s AND position = 1",
            (session,),
        ).fetchall()
    _check_strategy(verdict, rows, leader_laps, watch)
    ws_bad = sum(c.first_not_snapshot for c in clients)
    reconnects = sum(c.connections for c in clients) - len(clients)
    verdict.lines.append(f"WebSocket: {len(clients)} clients, {reconnects} reconnections, "
                         f"{ws_bad} not beginning with a snapshot")  # fmt: skip
    if ws_bad:
        verdict.failures.append(f"WebSocket: {ws_bad} (re)connections began without a snapshot")
    if any(c.connections == 0 for c in clients):
        verdict.failures.append("WebSocket: a client never connected")


def _check_strategy(verdict: Verdict, rows: list, leader_laps: list, watch) -> None:
    stored = Counter((r[0], r[1], r[2], float(r[3]) if r[3] is not None else 0.0) for r in rows)
    published = set(watch.keys)
    missing = published - set(stored)
    dup_rows = sum(n - 1 for n in stored.values() if n > 1)
    resent = sum(n - 1 for n in watch.keys.values() if n > 1)
    gone = len(watch.earlier - set(stored) - published)
    verdict.lines.append(
        f"strategy: published {len(published)} distinct on the last broker ({resent} sent "
        f"again after a restart; {watch.generations} broker generation(s), {gone} updates "
        f"of earlier ones neither stored nor made again), stored {len(stored)}, "
        f"duplicated {dup_rows}"
    )
    verdict.lost += len(missing)
    verdict.duplicated += dup_rows
    if missing:
        verdict.failures.append(f"strategy: {len(missing)} published updates not stored")
    without = sorted({r[0] for r in leader_laps} - {r[0] for r in rows})
    verdict.lines.append(f"strategy: {len(leader_laps)} leader laps, {len(without)} without "
                         "an update")  # fmt: skip
    verdict.lost += len(without)
    if without:
        verdict.failures.append(f"strategy: leader laps without an update: {without[:20]}")


def _replay(timeline, urls: dict[str, str], speed: float, failed: list[str]) -> None:
    from producers.kafka import EventProducer
    from replay.simulate import publish_timeline

    producer = EventProducer(urls["KAFKA_BOOTSTRAP"], log_level=0)  # no connection noise
    try:
        summary = publish_timeline(timeline, producer, speed=speed, from_lap=1)
        restarts = getattr(summary, "restarts", 0)  # (a release without them: 0)
        print(f"replay: {summary.total} events, {restarts} restart(s) on a new broker")
    except Exception as exc:
        failed.append(f"{type(exc).__name__}: {exc}")
        raise
    finally:
        producer.close()


def _ok(url: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(url, timeout=1).status_code == 200
    return False


def _s(value: float | None) -> str:
    return "not recovered" if value is None else f"{value:.1f} s"


if __name__ == "__main__":
    main()
