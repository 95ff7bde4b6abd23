"""The soak's clients (``soak.py``), in a process of their own: WebSocket clients that connect
to the session being replayed, stay a while and leave, and REST clients at a steady rate.

``--ws`` client slots: each connects to ``/ws/sessions/<key>`` (the key read from
``--session-file`` at each connection: the race being replayed now), reads for 5 to 60 s,
closes, waits up to 2 s and connects again. Every (re)connection must begin with a snapshot.
``--rps`` REST requests per second, spread over the reads a dashboard makes (the session's
live state, laps, stints, strategy, track status, the list of sessions, a driver comparison).
It runs until ``--stop-file`` exists, then writes what it counted to ``--report`` (JSON):
connections, messages, (re)connections that did not begin with a snapshot, errors by kind,
REST answers by status and their latency percentiles.

    python benchmarks/soak_load.py --api http://127.0.0.1:8000 --session-file F \\
        --stop-file S --report R.json [--ws 200] [--rps 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

#: The dashboard's reads, ``{s}`` the session being replayed.
READS = (
    "/sessions/{s}/live",
    "/sessions/{s}/laps?driver=VER",
    "/sessions/{s}/stints",
    "/sessions/{s}/strategy?latest=true",
    "/sessions/{s}/track-status",
    "/sessions",
    "/api/v1/compare/drivers?session=2023-monaco-R&drivers=VER,ALO",
)


@dataclass
class Counts:
    connections: int = 0
    messages: int = 0
    not_snapshot_first: int = 0
    ws_errors: Counter[str] = field(default_factory=Counter)
    rest: Counter[str] = field(default_factory=Counter)
    rest_errors: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    slowest_ms: dict[str, float] = field(default_factory=dict)  # read -> its slowest answer

    def report(self) -> dict:
        lat = sorted(self.latencies_ms)

        def pct(q: float) -> float | None:
            return round(lat[min(len(lat) - 1, int(q * len(lat)))], 1) if lat else None

        return {
            "ws_connections": self.connections,
            "ws_messages": self.messages,
            "ws_not_snapshot_first": self.not_snapshot_first,
            "ws_errors": dict(self.ws_errors),
            "rest_requests": sum(self.rest.values()),
            "rest_status": dict(self.rest),
            "rest_errors": dict(self.rest_errors),
            "rest_ms_p50": pct(0.5),
            "rest_ms_p99": pct(0.99),
            "rest_ms_max_by_read": {k: round(v) for k, v in self.slowest_ms.items()},
        }


def session(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


async def ws_slot(ws_base: str, session_file: Path, counts: Counts, stop: asyncio.Event) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosedOK

    await asyncio.sleep(random.uniform(0, 10))  # the clients arrive over 10 s
    while not stop.is_set():
        key = session(session_file)
        if key is None:
            await asyncio.sleep(1)
            continue
        stay = time.monotonic() + random.uniform(5, 60)
        try:
            async with connect(f"{ws_base}/ws/sessions/{key}", open_timeout=15) as ws:
                counts.connections += 1
                first = True
                while time.monotonic() < stay and not stop.is_set():
                    try:
                        text = await asyncio.wait_for(ws.recv(), 1.0)
                    except TimeoutError:
                        continue
                    if first and json.loads(text).get("type") != "snapshot":
                        counts.not_snapshot_first += 1
                    first = False
                    counts.messages += 1
        except ConnectionClosedOK:
            pass
        except Exception as exc:  # refused, closed by the server, timed out: an error
            counts.ws_errors[type(exc).__name__ + _code(exc)] += 1
        await asyncio.sleep(random.uniform(0, 2))


def _code(exc: Exception) -> str:
    rcvd = getattr(exc, "rcvd", None)
    return f" {rcvd.code}" if rcvd is not None else ""


async def rest(api: str, session_file: Path, rps: float, counts: Counts, stop: asyncio.Event):
    limit = asyncio.Semaphore(100)  # requests in flight at most

    async def one(client: httpx.AsyncClient, read: str, path: str) -> None:
        async with limit:
            started = time.perf_counter()
            try:
                r = await client.get(path)
                counts.rest[str(r.status_code)] += 1
                if r.status_code >= 500:
                    counts.rest_errors[f"{r.status_code} {path.split('?')[0]}"] += 1
            except httpx.HTTPError as exc:
                counts.rest_errors[type(exc).__name__] += 1
            ms = (time.perf_counter() - started) * 1000
            counts.latencies_ms.append(ms)
            counts.slowest_ms[read] = max(ms, counts.slowest_ms.get(read, 0.0))

    async with httpx.AsyncClient(base_url=api, timeout=30) as client:
        tasks: set[asyncio.Task] = set()
        next_at = time.monotonic()
        while not stop.is_set():
            key = session(session_file)
            if key is not None:
                read = random.choice(READS)
                task = asyncio.create_task(one(client, read, read.format(s=key)))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            next_at += 1.0 / rps
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        await asyncio.gather(*tasks, return_exceptions=True)


async def main_async(args: argparse.Namespace) -> Counts:
    counts = Counts()
    stop = asyncio.Event()
    ws_base = args.api.replace("http://", "ws://")
    tasks = [
        asyncio.create_task(ws_slot(ws_base, args.session_file, counts, stop))
        for _ in range(args.ws)
    ]
    tasks.append(asyncio.create_task(rest(args.api, args.session_file, args.rps, counts, stop)))
    while not args.stop_file.exists():
        await asyncio.sleep(0.5)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", required=True)
    parser.add_argument("--session-file", type=Path, required=True)
    parser.add_argument("--stop-file", type=Path, required=True)
    parser.add_argument("--report", type=Path, required=True)
    parser.add_argument("--ws", type=int, default=200)
    parser.add_argument("--rps", type=float, default=50.0)
    args = parser.parse_args()
    counts = asyncio.run(main_async(args))
    args.report.write_text(json.dumps(counts.report(), indent=1))


if __name__ == "__main__":
    main()
