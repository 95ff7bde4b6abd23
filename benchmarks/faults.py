"""Faults survived, measured: kill -9 each part of a running stack during a paced replay.

Runs ``pitwall up --with worker --with sink --with api`` on its own embedded servers (durable
PostgreSQL: ``PITWALL_PG_DURABLE=1``), five WebSocket clients on the replayed session, and
2023 Monaco replayed from lights out at ``--speed`` under a fresh session key. Every ``--gap``
seconds one fault, in turn: kill -9 of the stream worker, the PostgreSQL sink, the Redis
writer and the API/gateway, then kill -9 of Redis and of PostgreSQL (which ``pitwall up``
restarts on the same port). For each fault it prints the seconds until

* the strategy stream recovers (a new ``f1.strategy.v1`` event of the session),
* the tables recover (a new lap of the session lands in PostgreSQL),
* the WebSocket clients recover (every client has received live data, an update or a
  snapshot, not a heartbeat, after the fault; a client whose socket closed has reconnected,
  and its first message was a fresh snapshot).

Once the replay has finished and the pipeline drained, PostgreSQL is checked against the
replay: every lap and stint of the timeline stored exactly once, every strategy update the
worker published (distinct by its natural key) stored exactly once, and every WebSocket
(re)connection began with a snapshot. It ends with ``OK: lost 0, duplicated 0`` or the
failures, and stops the stack with SIGTERM (checking that ``processes.json`` is empty).

    python benchmarks/faults.py [--speed 20] [--gap 30] [--race "2023 Monaco"]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fault_observers import StrategyWatch, WsClient, laps_stored  # noqa: E402

from pitwall.embedded.base import free_port  # noqa: E402

FAULTS = ("worker", "pg-sink", "redis-writer", "api", "redis", "postgres")


def read_stack_env(state: Path, timeout: float = 180) -> dict[str, str]:
    path = state / "stack.env"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            pairs = [line.split("=", 1) for line in path.read_text().splitlines() if "=" in line]
            urls = dict(pairs)
            if {"KAFKA_BOOTSTRAP", "DATABASE_URL", "REDIS_URL"} <= set(urls):
                return urls
        time.sleep(0.2)
    raise SystemExit(f"pitwall up did not write {path}")


def registry(state: Path) -> dict[str, int]:
    entries = json.loads((state / "processes.json").read_text())
    return {e["name"]: e["pid"] for e in entries}


def sink_child(sink_pid: int, port: int) -> int:
    """The child of ``pitwall sink`` connected to ``port`` (PostgreSQL: pg-sink; Redis:
    the Redis writer)."""
    for child in psutil.Process(sink_pid).children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if any(c.raddr and c.raddr.port == port for c in child.net_connections("tcp")):
                return child.pid
    raise RuntimeError(f"no child of pitwall sink ({sink_pid}) connected to port {port}")


def pick_victim(fault: str, procs: dict[str, int], db_port: int, redis_port: int) -> int:
    """The pid to kill -9 for ``fault``."""
    if fault == "pg-sink":
        return sink_child(procs["sink"], db_port)
    if fault == "redis-writer":
        return sink_child(procs["sink"], redis_port)
    names = {"redis": "embeddedredis", "postgres": "embeddedpostgres"}
    return procs[names.get(fault, fault)]


def recovered(at: float, checks: dict, timeout: float) -> dict[str, float | None]:
    """Seconds from monotonic time ``at`` until each check first holds (None: not within
    ``timeout``), all polled together."""
    got: dict[str, float | None] = dict.fromkeys(checks)
    pending = dict(checks)
    while pending and time.monotonic() - at < timeout:
        for name, check in list(pending.items()):
            if check():
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", type=float, default=20.0)
    parser.add_argument("--gap", type=float, default=30.0, help="seconds between faults")
    parser.add_argument("--race", default="2023 Monaco")
    parser.add_argument("--clients", type=int, default=5)
    parser.add_argument("--recovery-timeout", type=float, default=90.0)
    args = parser.parse_args()
    year, event = args.race.split(" ", 1)

    state = Path(tempfile.mkdtemp(prefix="pitwall-faults-"))
    port = free_port()
    up = start_stack(state, port)
    clients: list[WsClient] = []
    watch: StrategyWatch | None = None
    threads: list[threading.Thread] = []
    try:
        urls = read_stack_env(state)
        base = f"http://127.0.0.1:{port}"
        if wait_for(lambda: _ok(f"{base}/health/live"), 120) is None:
            raise SystemExit("the API did not answer")
        from core.settings import Settings
        from replay.timeline import build_timeline

        settings = Settings(state_dir=state, **{k.lower(): v for k, v in urls.items()})
        timeline = build_timeline(int(year), event, "R", settings=settings)
        session = f"{timeline.session_key}-faults{uuid.uuid4().hex[:6]}"
        timeline = timeline.with_session_key(session)
        counts = Counter(e.type for e in timeline.events)
        time.sleep(5)  # the worker and sinks join their groups

        watch = StrategyWatch(urls["KAFKA_BOOTSTRAP"], session)
        ws_url = f"ws://127.0.0.1:{port}/ws/sessions/{session}"
        clients = [WsClient(ws_url) for _ in range(args.clients)]
        for target in (watch.run, *(c.run for c in clients)):
            threads.append(threading.Thread(target=target, daemon=True))
            threads[-1].start()

        replay = threading.Thread(target=_replay, args=(timeline, urls, args.speed), daemon=True)
        replay.start()
        print(f"replaying {session} at {args.speed:g}x; faults every {args.gap:g} s")
        stack = Stack(state, urls, session, watch, clients)
        rows = inject_faults(stack, replay, args.gap, args.recovery_timeout)
        replay.join()
        print("replay done; waiting for the pipeline to drain")
        expected_laps = counts["lap"]
        wait_for(lambda: (laps_stored(urls["DATABASE_URL"], session) or 0) >= expected_laps, 180)
        time.sleep(10)  # the last strategy updates
        problems = check(urls["DATABASE_URL"], session, counts, watch, clients)
        print_results(rows, problems, clients)
    finally:
        for c in clients:
            c.stop.set()
        if watch is not None:
            watch.stop.set()
        stop_stack(up, state)


def start_stack(state: Path, port: int) -> subprocess.Popen:
    """``pitwall up`` with the worker, the sinks and the API on embedded servers of its own
    (durable PostgreSQL) in ``state``, the API on ``port``."""
    env = {
        **os.environ,
        "PITWALL_STATE_DIR": str(state),
        "PITWALL_PG_DURABLE": "1",
        "PITWALL_API_PORT": str(port),
        "PITWALL_LOG_FORMAT": "json",
        "COLUMNS": "200",
    }
    for var in ("KAFKA_BOOTSTRAP", "DATABASE_URL", "REDIS_URL"):
        env.pop(var, None)
    log = (state / "up.log").open("w")
    up = subprocess.Popen(
        [sys.executable, "-m", "pitwall.cli", "up", "--with", "worker", "--with", "sink",
         "--with", "api"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=REPO,
    )  # fmt: skip
    print(f"pitwall up (pid {up.pid}), state {state}, log {state / 'up.log'}")
    return up


def stop_stack(up: subprocess.Popen, state: Path) -> None:
    """SIGTERM to ``pitwall up`` (SIGKILL to its group after 90 s); say what it left."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(up.pid, signal.SIGTERM)
    try:
        up.wait(90)
    except subprocess.TimeoutExpired:
        os.killpg(up.pid, signal.SIGKILL)
    left = (
        json.loads((state / "processes.json").read_text())
        if (state / "processes.json").exists()
        else []
    )
    print(f"pitwall up stopped by SIGTERM (exit {up.returncode}); processes left: {len(left)}")


@dataclass
class Stack:
    """The running stack and what watches the replayed session on it."""

    state: Path
    urls: dict[str, str]
    session: str
    watch: StrategyWatch
    clients: list[WsClient]


#: One fault's row: fault, victim pid, seconds until the strategy stream, the tables and the
#: WebSocket clients recovered (None: not within the recovery timeout).
FaultRow = tuple[str, int, float | None, float | None, float | None]


def inject_faults(
    stack: Stack, replay: threading.Thread, gap: float, timeout: float
) -> list[FaultRow]:
    """Every ``gap`` seconds the next fault of ``FAULTS``, while the replay runs."""
    rows = []
    time.sleep(gap)
    for fault in FAULTS:
        if not replay.is_alive():
            print(f"the replay ended before the {fault} fault")
            break
        row, at = one_fault(stack, fault, timeout)
        rows.append(row)
        time.sleep(max(0.0, gap - (time.monotonic() - at)))
    return rows


def one_fault(stack: Stack, fault: str, timeout: float) -> tuple[FaultRow, float]:
    """kill -9 the part ``fault`` names and time the recoveries; the row and the monotonic
    time of the kill."""
    urls, session = stack.urls, stack.session
    procs = registry(stack.state)
    db_port = int(urls["DATABASE_URL"].rsplit(":", 1)[1].split("/")[0])
    redis_port = int(urls["REDIS_URL"].rsplit(":", 1)[1].split("/")[0])
    victim = pick_victim(fault, procs, db_port, redis_port)
    at = time.monotonic()
    wall = time.time()
    os.kill(victim, signal.SIGKILL)
    # Rows the victim committed before it died are in by now: count from here.
    time.sleep(0.3)
    laps_before = laps_stored(urls["DATABASE_URL"], session) or 0
    # Each time counts from the kill; the three are watched together.
    got = recovered(
        at,
        {
            "stream": lambda w=wall: stack.watch.since(w),
            "tables": lambda n=laps_before: (laps_stored(urls["DATABASE_URL"], session) or 0) > n,
            "sockets": lambda w=wall: all(c.since(w) for c in stack.clients),
        },
        timeout,
    )
    stream, tables, sockets = got["stream"], got["tables"], got["sockets"]
    print(f"  kill -9 {fault:<12} (pid {victim}): strategy {_s(stream)}, "
          f"tables {_s(tables)}, WebSockets {_s(sockets)}")  # fmt: skip
    return (fault, victim, stream, tables, sockets), at


def print_results(rows: list[FaultRow], problems: dict, clients: list[WsClient]) -> None:
    """The recovery table, the WebSocket reconnections and the verdict."""
    print()
    print("| fault (kill -9) | strategy stream | tables (laps) | WebSocket clients |")
    print("|---|---|---|---|")
    for fault, _, stream, tables, sockets in rows:
        print(f"| {fault} | {_s(stream)} | {_s(tables)} | {_s(sockets)} |")
    reconnects = sum(c.connections for c in clients) - len(clients)
    began = "began" if not problems.get("ws") else "did NOT always begin"
    print(f"\nWebSocket: {len(clients)} clients, {reconnects} reconnections, every one "
          f"{began} with a snapshot")  # fmt: skip
    lost, dup = problems["lost"], problems["duplicated"]
    failures = list(problems["failures"])
    if not failures and lost == 0 and dup == 0 and not problems.get("ws"):
        print("OK: lost 0, duplicated 0")
    else:
        print(f"FAILED: lost {lost}, duplicated {dup}")
        for f in failures:
            print(f"  - {f}")


def check(database_url: str, session: str, counts: Counter, watch, clients) -> dict:
    import psycopg

    failures = []
    lost = dup = 0
    with psycopg.connect(database_url) as conn:
        for table, kind, key in (
            ("laps", "lap", "driver, lap_number"),
            ("stints", "stint", "driver, stint"),
        ):
            n = conn.execute(f"SELECT count(*) FROM {table} WHERE session_key = %s", (session,))
            stored = n.fetchone()[0]
            d = conn.execute(
                f"SELECT count(*) FROM (SELECT {key} FROM {table} WHERE session_key = %s "
                f"GROUP BY {key} HAVING count(*) > 1) x",
                (session,),
            ).fetchone()[0]
            missing = max(counts[kind] - stored, 0)
            lost += missing
            dup += d
            print(f"{table}: replayed {counts[kind]}, stored {stored}, duplicated {d}")
            if missing:
                failures.append(f"{table}: {missing} of {counts[kind]} missing")
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
    stored = Counter((r[0], r[1], r[2], float(r[3]) if r[3] is not None else 0.0) for r in rows)
    published = set(watch.keys)
    missing = published - set(stored)
    dup_rows = sum(n - 1 for n in stored.values() if n > 1)
    resent = sum(n - 1 for n in watch.keys.values() if n > 1)
    print(f"strategy: published {len(published)} distinct ({resent} sent again after a "
          f"restart), stored {len(stored)}, duplicated {dup_rows}")  # fmt: skip
    lost += len(missing)
    dup += dup_rows
    if missing:
        failures.append(f"strategy: {len(missing)} published updates not stored")
    updated = {r[0] for r in rows}
    without = sorted({r[0] for r in leader_laps} - updated)
    print(f"strategy: {len(leader_laps)} leader laps, {len(without)} without an update")
    lost += len(without)
    if without:
        failures.append(f"strategy: leader laps without an update: {without[:20]}")
    ws_bad = sum(c.first_not_snapshot for c in clients)
    if ws_bad:
        failures.append(f"WebSocket: {ws_bad} (re)connections did not begin with a snapshot")
    if any(c.connections == 0 for c in clients):
        failures.append("WebSocket: a client never connected")
    return {"lost": lost, "duplicated": dup, "failures": failures, "ws": ws_bad}


def _replay(timeline, urls: dict[str, str], speed: float) -> None:
    from producers.kafka import EventProducer
    from replay.simulate import publish_timeline

    producer = EventProducer(urls["KAFKA_BOOTSTRAP"])
    try:
        publish_timeline(timeline, producer, speed=speed, from_lap=1)
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
