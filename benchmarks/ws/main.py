"""The WebSocket benchmark's run: the stack and pitwall's services, the warm-up, the replay the
clients listen to, and the report (see ``benchmarks/bench_ws.py`` for what it measures).
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time
import uuid
from dataclasses import replace

from harness import REPO, Harness, console, free_port, has_command, poll_until, wait_http

from core.settings import Settings
from ws.client import raise_nofile
from ws.load import measure
from ws.report import gateway_histograms, report


def wait_redis_key(settings: Settings, key: str, timeout: float) -> bool:
    import redis

    r = redis.Redis.from_url(settings.require_redis)
    return poll_until(lambda: r.exists(key), timeout)


def replay(settings: Settings, timeline, speed: float | None) -> object:
    from producers.kafka import EventProducer
    from replay.simulate import publish_timeline

    producer = EventProducer(settings.require_kafka)
    try:
        return publish_timeline(timeline, producer, speed=speed)
    finally:
        producer.close()


def split(timeline, from_lap: int | None, to_lap: int | None):
    """(catch-up, window): the events before lap ``from_lap``, published at max speed before
    the clients connect, and those from its start to the end of ``to_lap``, paced."""
    start = timeline.lap_start_time(from_lap) if from_lap and from_lap > 1 else None
    end = timeline.lap_start_time(to_lap + 1) if to_lap else None
    before, window = [], []
    for e in timeline.events:
        t = e.event_time.session_time
        if start is not None and t < start:
            before.append(e)
        elif end is None or t <= end:
            window.append(e)
    return replace(timeline, events=before), replace(timeline, events=window)


def main(description: str) -> None:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--race", nargs=2, default=["2023", "Monaco"], metavar=("YEAR", "EVENT"))
    parser.add_argument(
        "--speed",
        type=float,
        default=2.0,
        help="replay speed factor (1 = live pace: ~4.5 updates/s per client at Monaco; every "
        "client gets every update, so the gateway sends clients x that many frames per second)",
    )
    parser.add_argument("--from-lap", type=int, default=20)
    parser.add_argument("--to-lap", type=int, default=22, help="stop after this lap (0: the end)")
    parser.add_argument("--workers", type=int, default=1, help="gateway processes")
    parser.add_argument(
        "--procs", type=int, default=2, help="client processes the clients are spread over"
    )
    parser.add_argument(
        "--client",
        choices=("light", "websockets"),
        default="light",
        help="light: a minimal RFC 6455 client on plain sockets, with the kernel's receive "
        "time of every frame and the time its process read it (default; the clients share the "
        "machine's cores with the server); websockets: the websockets library's client (read "
        "time only)",
    )
    parser.add_argument(
        "--probes",
        type=int,
        default=50,
        help="light clients (of --clients) in one more process at real-time priority, which "
        "read every frame as it arrives: exact receipt times (0: none)",
    )
    parser.add_argument(
        "--client-priority",
        choices=("background", "normal"),
        default="background",
        help="CPU priority of the clients that are not probes. background (default): the "
        "lowest, in sessions of their own, as if on machines of their own; normal: the "
        "server's",
    )
    parser.add_argument("--gateway", help="measure a running gateway (ws://host:port)")
    parser.add_argument("--session-key", help="with --gateway: the session to listen to")
    parser.add_argument("--listen", type=float, default=60.0, help="with --gateway: seconds")
    parser.add_argument("--gateway-pid", type=int, help="with --gateway: its pid, for RSS")
    args = parser.parse_args()
    nofile = raise_nofile()
    if nofile < args.clients * 2 + 100:
        console.print(f"[yellow]ulimit -n is {nofile}: too low for {args.clients} clients[/]")

    if args.gateway:
        if not args.session_key:
            raise SystemExit("--gateway needs --session-key")
        url = f"{args.gateway.rstrip('/')}/ws/sessions/{args.session_key}"
        stats, info = measure(
            url,
            args.clients,
            args.procs,
            lambda: asyncio.sleep(args.listen),
            args.gateway_pid,
            args.client == "light",
            args.probes,
            args.client_priority == "background",
        )
        report(stats, info, args.clients)
        return

    with Harness("kafka", "postgres", "redis") as h:
        run(h, args)


def run(h: Harness, args: argparse.Namespace) -> None:
    """Start the services, warm them up, replay under the clients, report."""
    from replay.timeline import build_timeline

    settings = h.settings
    h.create_topics()
    if not has_command("sink"):
        raise SystemExit("consumers/ has no `pitwall sink` yet: nothing writes Redis")
    h.spawn("sink", "sink")
    worker = None
    if has_command("worker") and (REPO / "streams" / "app.py").exists():
        worker = h.spawn("worker", "worker")
    port = free_port()
    gw = h.spawn("gateway", "serve", "--port", str(port), "--workers", str(args.workers))
    wait_http(f"http://127.0.0.1:{port}/health/live", 60, "gateway", gw)

    with console.status(f"loading {args.race[0]} {args.race[1]}..."):
        timeline = build_timeline(int(args.race[0]), args.race[1], settings=settings)
    run_id = uuid.uuid4().hex[:6]
    warm_key = f"{timeline.session_key}-wsw{run_id}"
    _, warm = split(timeline.with_session_key(warm_key), None, 4)
    with console.status("warming up sink, worker and gateway (4 laps)..."):
        replay(settings, warm, None)
        what = "strategy" if worker else "standings"
        if not wait_redis_key(settings, f"pitwall:session:{warm_key}:{what}", 90):
            console.print(f"[yellow]no {what} for the warm-up session after 90 s[/]")
            for name in ("sink", "worker"):
                console.print(h.log_tail(name))
    key = f"{timeline.session_key}-ws{run_id}"
    catch_up, window = split(timeline.with_session_key(key), args.from_lap, args.to_lap or None)
    if catch_up.events:
        with console.status(f"replaying laps 1-{args.from_lap - 1} at max speed first..."):
            replay(settings, catch_up, None)
            wait_redis_key(settings, f"pitwall:session:{key}:standings", 60)
            time.sleep(3)  # let the sink and worker drain it before clients connect
    url = f"ws://127.0.0.1:{port}/ws/sessions/{key}"
    console.print(
        f"{args.clients} clients on {url}; replaying {len(window.events):,} events at "
        f"{args.speed:g}x (sink{', worker' if worker else ''}, gateway x{args.workers}; "
        f"{args.client} clients in {args.procs} processes)"
    )

    async def during() -> None:
        done = threading.Event()
        result: dict = {}

        def go() -> None:
            try:
                result["summary"] = replay(settings, window, args.speed)
            finally:
                done.set()

        threading.Thread(target=go, daemon=True).start()
        while not done.is_set():
            await asyncio.sleep(0.2)
        console.print(f"replay published {result['summary'].total:,} events")

    stats, info = measure(
        url,
        args.clients,
        args.procs,
        during,
        gw.pid,
        args.client == "light",
        args.probes,
        args.client_priority == "background",
    )
    report(stats, info, args.clients)
    console.print(gateway_histograms(f"http://127.0.0.1:{port}"))
    for name, code in h.exited():
        console.print(f"[red]{name} exited early ({code})[/]")
