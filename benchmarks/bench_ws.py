"""Benchmark: 1,000 concurrent WebSocket clients on one session during a real race replay.

    python benchmarks/bench_ws.py [--clients 1000] [--race 2023 Monaco] [--speed 2]

Uses KAFKA_BOOTSTRAP / DATABASE_URL / REDIS_URL (or a running ``pitwall up``) when set,
otherwise starts the embedded stack for the run. It starts what is missing the way users do:
the sink (``python -m pitwall.cli sink``: PostgreSQL + the Redis writer), the stream worker
(``python -m pitwall.cli worker``) when ``streams/`` is installed, and the gateway
(``python -m pitwall.cli serve``). It warms the pipeline up with a few laps under a throw-away
session key, connects the clients (a minimal WebSocket client on plain sockets by default, or
``--client websockets``; ``ulimit -n`` raised to the hard limit; spread over ``--procs``
processes), replays the race (laps ``--from-lap`` to ``--to-lap`` at ``--speed``; default laps
20-22 at twice live pace, about 2 minutes) under a fresh key and prints, per message kind and
overall, the latency from the event's ``produced_at`` (``source_produced_at`` for derived
events such as strategy) to its receipt by the client: p50/p95/p99/max, where that time goes
(to the worker's output, to the Redis writer's publish, from there to the client), p99 per
10 s of the run, the messages delivered, clients dropped, and the gateway's RSS memory.

Receipt is when the frame's bytes reached the client's socket (the kernel's receive time):
what a client on its own machine would see. The light client also prints the figures to when
its process read the frame, which adds the wait for a process sharing the two cores with the
server and 999 other clients (the ``websockets`` client has only this time). A frame that
arrives while an earlier one is still unread merges with it in the socket and both take the
later time, so ``--probes`` (50) of the clients run in a process of their own at real-time
priority: they read each frame as it arrives, and their figures, printed apart, are exact.
The gateway writes to its clients in no set order, so the probes are a random sample of them.
A last table shows where the slowest 1% of messages spent their time.

The clients stand for users on machines of their own, whose reading takes no CPU from the
server. So by default (``--client-priority background``) the other clients' processes run at
the lowest priority, each in a session of its own (Linux schedules a session's processes as
one group, whose weight is what counts between groups): they read when the server's
processes leave a core free. Their reads lag more, so more of their frames merge and their
figures are a looser upper bound; the verdict is then on the probes' exact figures.
``--client-priority normal`` runs them at the server's priority.

``--gateway ws://host:port --session-key K --listen 60`` measures a running deployment
instead (no stack, no replay: it listens while you replay with ``simulate_live``).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import re
import resource
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from array import array
from collections import defaultdict
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import orjson
from rich.console import Console
from rich.table import Table
from websockets.frames import Frame, Opcode
from websockets.utils import accept_key

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
console = Console()


def percentile(values, q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def raise_nofile() -> int:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 1 << 20
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the clients ----------------------------------------------------------------------------
class Stats:
    def __init__(self) -> None:
        self.latency: dict[str, array] = defaultdict(lambda: array("d"))
        #: kind -> per message, where the time went: latency, then the SEGMENTS in their order
        #: (NaN: not a step of this message), flattened
        self.steps: dict[str, array] = defaultdict(lambda: array("d"))
        self.timeline: array = array("d")  # (receipt time, latency ms) pairs, flattened
        #: from each event's own produced_at (a derived event's: when the worker produced it)
        self.own: array = array("d")
        #: the same two figures, to when the client's process read the frame (light clients)
        self.read: array = array("d")
        self.read_own: array = array("d")
        self.delivered = 0
        self.snapshots = 0
        self.closed: dict[str, int] = defaultdict(int)
        self.out_of_order = 0
        #: update frames that came in one read with others: written together, or merged in the
        #: socket while unread (those took the later one's arrival time)
        self.merged = 0
        self.light: list[LightClient] = []  # their frames are parsed after the run

    def parse_deferred(self) -> None:
        for client in self.light:
            last_seq = 0
            for received, now, payload in client.frames:
                seq = self.record_frame(payload.decode(), received, now)
                if seq:
                    if seq <= last_seq:
                        self.out_of_order += 1
                    last_seq = seq
            client.frames.clear()

    def record_frame(self, raw: str, now: float, read: float | None = None) -> int:
        """Latency of every update in a frame (single or batch) received at ``now`` (and read
        by the client's process at ``read``), by a cheap scan of the text: 1,000 clients in
        one process cannot afford to parse every frame fully."""
        parts = raw.split(UPDATE_PREFIX)
        last_seq = 0
        for part in parts[1:]:
            seq_end = part.index(",")
            last_seq = int(part[:seq_end])
            self.delivered += 1
            source, stamp = SOURCE_STAMP.search(part), STAMP.search(part)
            own = _epoch(stamp.group(1)) if stamp else None  # this event's own produced_at
            produced = _epoch(source.group(1)) if source else own  # its source's, if derived
            if produced is None:
                continue
            kind = KIND.search(part)
            label = kind.group(1) if kind else "?"
            ms = (now - produced) * 1000
            self.latency[label].append(ms)
            self.timeline.extend((now, ms))
            self.own.append((now - own) * 1000 if own is not None else ms)
            if read is not None:
                self.read.append((read - produced) * 1000)
                self.read_own.append((read - (own if own is not None else produced)) * 1000)
            published = PUBLISHED.search(part)
            if published:
                at = float(published.group(1))
                step, worker, compute_ms = produced, NAN, NAN
                if source and own is not None:  # derived: the worker's output in between
                    step = own
                    worker = (step - produced) * 1000
                    compute = COMPUTE.search(part)
                    if compute:  # the strategy event's own account of its Monte Carlo
                        compute_ms = float(compute.group(1))
                self.steps[label].extend(
                    (ms, worker, compute_ms, (at - step) * 1000, (now - at) * 1000)
                )
        return last_seq


NAN = float("nan")


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


UPDATE_PREFIX = '{"type":"update","seq":'
KIND = re.compile(r'"kind":"(\w+)"')
SOURCE_STAMP = re.compile(r'"source_produced_at":"([^"]+)"')
STAMP = re.compile(r'"produced_at":"([^"]+)"')
PUBLISHED = re.compile(r'"published_at":([0-9.eE+-]+)')
COMPUTE = re.compile(r'"compute_ms":([0-9.eE+-]+)')
#: Segments of the latency: source event -> the worker's output (derived kinds only), ->
#: published on Redis by the Redis writer, -> received by the client (gateway and client).
SEGMENTS = {
    "worker": "to worker output",
    "compute": "of which recommend()",
    "redis": "to Redis publish",
    "client": "Redis -> client",
}


async def run_client(url: str, stats: Stats, stop: asyncio.Event) -> None:
    import websockets

    try:
        async with websockets.connect(
            url, max_size=None, open_timeout=120, ping_interval=None, close_timeout=2
        ) as ws:
            first = orjson.loads(await ws.recv())
            if first.get("type") == "snapshot":
                stats.snapshots += 1
            last_seq = first.get("seq", 0)
            async for raw in ws:  # until measure() cancels the task
                seq = stats.record_frame(raw, time.time())
                if seq:
                    if seq <= last_seq:
                        stats.out_of_order += 1
                    last_seq = seq
    except asyncio.CancelledError:
        return
    except Exception as exc:
        code = getattr(getattr(exc, "rcvd", None), "code", None)
        stats.closed[str(code or type(exc).__name__)] += 1


#: Linux: the kernel's receive time of a read's data, as a control message of recvmsg.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
TIMESPEC = struct.Struct("qq")


class LightClient:
    """A minimal RFC 6455 client on a plain socket: the handshake, then frames parsed straight
    off the socket. It answers pings and closes, and needs about a tenth of the CPU of a full
    client library per message, which matters when a thousand of them share two cores with
    the server they measure (``--client websockets`` uses the library).

    Each frame keeps two times: when its bytes reached this client's socket (the kernel's
    receive time, ``SO_TIMESTAMPNS``; for data that came in pieces, the last piece's) and
    when this process read them. The first is receipt at the client as a client on its own
    machine would see it; the second adds the wait for this process, which shares the
    machine's two cores with the server and 999 other clients. Frames are parsed after the
    run, off the measured path.
    """

    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self.sock: socket.socket | None = None
        self.buf = bytearray()
        self.fragments: list[bytes] = []
        #: (kernel receive time, read time, payload) of every update frame
        self.frames: list[tuple[float, float, bytes]] = []
        self.snapshot = False
        self.closed: str | None = None
        stats.light.append(self)

    def connect(self, host: str, port: int, path: str) -> None:
        """Connect, upgrade and read up to the snapshot (blocking); then non-blocking."""
        key = base64.b64encode(os.urandom(16)).decode()
        sock = socket.create_connection((host, port), timeout=120)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        while (end := self.buf.find(b"\r\n\r\n")) < 0:
            self._read_blocking()
        head = bytes(self.buf[:end]).decode("latin-1")
        del self.buf[: end + 4]
        if " 101 " not in head.split("\r\n", 1)[0] or accept_key(key) not in head:
            self.fail(f"handshake refused: {head.splitlines()[0]}")
            return
        self.feed(b"", 0.0, 0.0)
        while not self.snapshot and self.closed is None:
            self._read_blocking()
            self.feed(b"", 0.0, 0.0)
        sock.setblocking(False)

    def _read_blocking(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("closed during the handshake")
        self.buf += data

    def readable(self) -> None:
        """Read what the socket holds, with the kernel's receive time of it."""
        try:
            data, ancillary, _, _ = self.sock.recvmsg(1 << 18, 64)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self.fail(type(exc).__name__)
            return
        now = time.time()
        if not data:
            self.fail("eof")
            return
        received = now
        if ancillary:  # the only control message asked for: (SOL_SOCKET, SO_TIMESTAMPNS)
            sec, nsec = TIMESPEC.unpack_from(ancillary[0][2])
            received = sec + nsec * 1e-9
        before = len(self.frames)
        self.feed(data, received, now)
        if (read := len(self.frames) - before) > 1:
            self.stats.merged += read

    def feed(self, data: bytes, received: float, now: float) -> None:
        buf = self.buf
        buf += data
        while len(buf) >= 2 and self.closed is None:
            b0, length = buf[0], buf[1] & 0x7F
            start = 2
            if length == 126:
                if len(buf) < 4:
                    return
                length, start = int.from_bytes(buf[2:4]), 4
            elif length == 127:
                if len(buf) < 10:
                    return
                length, start = int.from_bytes(buf[2:10]), 10
            if len(buf) < start + length:
                return
            payload = bytes(buf[start : start + length])
            del buf[: start + length]
            self.frame(b0 & 0x0F, bool(b0 & 0x80), payload, received, now)

    def frame(self, opcode: int, fin: bool, payload: bytes, received: float, now: float) -> None:
        if opcode in (0, 1):  # continuation, text
            self.fragments.append(payload)
            if not fin:
                return
            message = b"".join(self.fragments) if len(self.fragments) > 1 else payload
            self.fragments.clear()
            if not self.snapshot:
                self.snapshot = True
                if orjson.loads(message).get("type") == "snapshot":
                    self.stats.snapshots += 1
                return
            self.frames.append((received, now, message))
        elif opcode == Opcode.PING:
            self.send(Frame(Opcode.PONG, payload).serialize(mask=True))
        elif opcode == Opcode.CLOSE:
            code = str(int.from_bytes(payload[:2])) if len(payload) >= 2 else "1005"
            self.send(Frame(Opcode.CLOSE, payload[:2]).serialize(mask=True))
            self.fail(code)

    def send(self, data: bytes) -> None:
        with contextlib.suppress(OSError):
            self.sock.send(data)

    def fail(self, why: str) -> None:
        if self.closed is None:
            self.closed = why
            self.stats.closed[why] += 1
        with contextlib.suppress(OSError):
            self.sock.close()


def run_light_clients(url: str, n: int, stats: Stats, ready, stop) -> None:
    """Connect ``n`` light clients, report ready, read until ``stop`` is set (one thread)."""
    import select
    from urllib.parse import urlsplit

    u = urlsplit(url)
    poller = select.epoll()
    by_fd: dict[int, LightClient] = {}
    for _ in range(n):
        client = LightClient(stats)
        try:
            client.connect(u.hostname, u.port, u.path)
        except OSError as exc:
            client.fail(type(exc).__name__)
        if client.closed is None:
            fd = client.sock.fileno()
            poller.register(fd, select.EPOLLIN)
            by_fd[fd] = client
    ready.put(stats.snapshots)
    parent = os.getppid()  # in a session of its own, a client outlives a killed bench otherwise
    while not stop.is_set() and os.getppid() == parent:
        for fd, _ in poller.poll(0.1):
            client = by_fd[fd]
            client.readable()
            if client.closed is not None:
                with contextlib.suppress(OSError, ValueError):
                    poller.unregister(fd)
                del by_fd[fd]
    for client in by_fd.values():
        client.sock.close()
    poller.close()


async def connect_all(url: str, n: int, stats: Stats, stop: asyncio.Event) -> list[asyncio.Task]:
    tasks = []
    for start in range(0, n, 100):
        batch = [
            asyncio.create_task(run_client(url, stats, stop)) for _ in range(min(100, n - start))
        ]
        tasks.extend(batch)
        deadline = time.monotonic() + 60
        while stats.snapshots + sum(stats.closed.values()) < len(tasks):
            if time.monotonic() > deadline:
                raise SystemExit(f"only {stats.snapshots}/{len(tasks)} clients got a snapshot")
            await asyncio.sleep(0.05)
    return tasks


# -- services -------------------------------------------------------------------------------
class Services:
    def __init__(self) -> None:
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.stack = None
        self.tmp = tempfile.TemporaryDirectory(prefix="pitwall-bench-ws-")

    def start_stack(self) -> None:
        from pitwall.core.settings import Settings, get_settings
        from pitwall.embedded import Stack

        get_settings.cache_clear()
        settings = get_settings()
        if not (settings.kafka_bootstrap and settings.database_url and settings.redis_url):
            state = Path(self.tmp.name)
            os.environ["PITWALL_STATE_DIR"] = str(state)
            with console.status("starting the embedded stack..."):
                self.stack = Stack(Settings(state_dir=state), write_env_file=False)
                os.environ.update(self.stack.start())
            get_settings.cache_clear()
        from producers.admin import create_topics

        create_topics(get_settings().require_kafka, get_settings().kafka_partitions)

    def spawn(self, name: str, *args: str) -> subprocess.Popen:
        log = open(Path(self.tmp.name) / f"{name}.log", "w")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "pitwall.cli", *args],
            env=os.environ.copy(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=REPO,
        )
        self.procs.append((name, proc))
        return proc

    def log_tail(self, name: str) -> str:
        path = Path(self.tmp.name) / f"{name}.log"
        return path.read_text()[-2000:] if path.exists() else ""

    def stop(self) -> None:
        for _, p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for _, p in self.procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        if self.stack is not None:
            self.stack.stop()
        self.tmp.cleanup()


def has_command(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(f"pitwall.commands.{name}") is not None


def wait_http(url: str, timeout: float, proc: subprocess.Popen) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the gateway exited ({proc.returncode})")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer in {timeout:.0f} s")


def wait_redis_key(key: str, timeout: float) -> bool:
    import redis

    from pitwall.core.settings import get_settings

    r = redis.Redis.from_url(get_settings().require_redis)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if r.exists(key):
            return True
        time.sleep(0.1)
    return False


def gateway_histograms(base: str) -> str:
    """The gateway's own view from /metrics: Redis publish -> gateway, and the time to hand a
    burst to every client; quantiles as the upper bound of their histogram bucket."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    try:
        text = httpx.get(f"{base}/metrics", timeout=10).text
    except httpx.HTTPError as exc:
        return f"gateway /metrics unavailable: {exc}"
    wanted = {
        "pitwall_ws_pubsub_latency_seconds": "Redis publish -> gateway",
        "pitwall_ws_fanout_seconds": "one burst to every client",
    }
    out = []
    for family in text_string_to_metric_families(text):
        if family.name == "pitwall_ws_frames_sent":
            paths = {x.labels["path"]: x.value for x in family.samples if x.name.endswith("_total")}
            frames = sum(paths.values()) or 1
            out.append(
                "frames written straight to the socket "
                f"{paths.get('direct', 0) / frames:.1%}, through a client's queue "
                f"{paths.get('queued', 0) / frames:.1%}"
            )
        if family.name not in wanted:
            continue
        buckets = sorted(
            (float(s.labels["le"]), s.value) for s in family.samples if s.name.endswith("_bucket")
        )
        total = buckets[-1][1] if buckets else 0

        def q(p: float, buckets=buckets, total=total) -> str:
            for le, cum in buckets:
                if cum >= p * total:
                    return f"<= {le * 1000:g}"
            return "?"

        out.append(f"{wanted[family.name]}: p50 {q(0.5)} ms, p99 {q(0.99)} ms ({total:,.0f})")
    return "gateway's view: " + "; ".join(out)


def cpu_by_role() -> dict[int, tuple[str, float]]:
    """CPU seconds used so far by every process of the run, labelled by its role."""
    import psutil

    me = os.getpid()
    roles = (
        ("pitwall.cli serve", "gateway"),
        ("pitwall.cli worker", "worker"),
        ("pitwall.cli sink", "sink"),
        ("tansu", "broker"),
        ("postgres", "postgres"),
        ("valkey", "redis"),
        ("redis-server", "redis"),
    )
    out = {}
    for proc in psutil.process_iter(["pid", "ppid", "cmdline", "name", "cpu_times"]):
        info = proc.info
        text = " ".join(info["cmdline"] or [info["name"] or ""])
        role = next((r for needle, r in roles if needle in text), None)
        if role is None and info["pid"] == me:
            role = "replay (this process)"
        elif role is None and info["ppid"] == me and "multiprocessing" in text:
            role = "clients"
        elif role is None and "pitwall.cli" in text:  # children of sink / serve
            parent = " ".join(psutil.Process(info["ppid"]).cmdline())
            role = next((r for needle, r in roles if needle in parent), None)
        if role and info["cpu_times"]:
            t = info["cpu_times"]
            out[info["pid"]] = (role, t.user + t.system)
    return out


def cpu_report(before: dict, after: dict, seconds: float) -> str:
    used: dict[str, float] = defaultdict(float)
    for pid, (role, total) in after.items():
        used[role] += total - before.get(pid, (role, 0.0))[1]
    parts = [f"{role} {t / seconds:.0%}" for role, t in sorted(used.items(), key=lambda x: -x[1])]
    total = sum(used.values()) / seconds
    return (
        f"CPU during the run (share of one core): {', '.join(parts)}; "
        f"total {total:.0%} of {os.cpu_count()} cores"
    )


def rss_mb(pid: int) -> float:
    import psutil

    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
        return sum(p.memory_info().rss for p in procs) / 2**20
    except psutil.Error:
        return float("nan")


def replay(timeline, speed: float | None) -> object:
    from pitwall.core.settings import get_settings
    from producers.kafka import EventProducer
    from replay.simulate import publish_timeline

    producer = EventProducer(get_settings().require_kafka)
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


# -- main -----------------------------------------------------------------------------------
def realtime() -> str:
    """Put this process at real-time priority (SCHED_FIFO), or the highest nice level: the
    probes' reason to be (see the module docstring) is to read each frame as it arrives."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
        return "SCHED_FIFO"
    except (OSError, AttributeError):
        pass
    try:
        os.nice(-20)
        return "nice -20"
    except OSError:
        return "normal priority (no permission for more)"


def background() -> str:
    """Run this process only on CPU time that nothing else wants: a session of its own at
    the lowest priority (see the module docstring for why)."""
    with contextlib.suppress(OSError):
        os.setsid()  # its own autogroup, whose nice level is the one that counts between groups
    done = []
    with contextlib.suppress(OSError):
        Path("/proc/self/autogroup").write_text("19")
        done.append("autogroup nice 19")
    with contextlib.suppress(OSError):
        done.append(f"nice {os.nice(19)}")
    return ", ".join(done) or "normal priority (could not lower it)"


def client_process(
    url: str, n: int, ready, stop, results, light: bool, probe: bool, low: bool
) -> None:
    """One process of clients: connect ``n``, report ready, read until told to stop.

    ``probe``: run at real-time priority, so that these clients read every frame as soon as
    it arrives (see ``realtime``); ``low``: at the lowest priority (see ``background``)."""
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    priority = realtime() if probe else background() if low else "normal priority"

    async def run() -> Stats:
        stats = Stats()
        tasks = await connect_all(url, n, stats, asyncio.Event())
        ready.put(stats.snapshots)
        parent = os.getppid()
        while not stop.is_set() and os.getppid() == parent:
            await asyncio.sleep(0.1)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return stats

    if light:
        stats = Stats()
        run_light_clients(url, n, stats, ready, stop)
        if probe:  # the parsing below is not measured: give the cores back
            with contextlib.suppress(OSError):
                os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
        stats.parse_deferred()
    else:
        stats = asyncio.run(run())
    results.put(
        {
            "probe": probe,
            "priority": priority,
            "latency": {k: v.tobytes() for k, v in stats.latency.items()},
            "steps": {k: v.tobytes() for k, v in stats.steps.items()},
            "timeline": stats.timeline.tobytes(),
            "own": stats.own.tobytes(),
            "read": stats.read.tobytes(),
            "read_own": stats.read_own.tobytes(),
            "delivered": stats.delivered,
            "snapshots": stats.snapshots,
            "closed": dict(stats.closed),
            "out_of_order": stats.out_of_order,
            "merged": stats.merged,
        }
    )


def measure(
    url: str,
    n: int,
    procs: int,
    during,
    gateway_pid: int | None,
    light: bool = True,
    probes: int = 0,
    low: bool = False,
) -> tuple[Stats, dict]:
    """Connect ``n`` clients over ``procs`` processes (and ``probes`` of them in one more, at
    real-time priority), run ``during()``, merge their figures. ``low``: the clients that are
    not probes run at the lowest priority."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    ready, results, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    probes = min(probes, n) if light else 0
    rest = n - probes
    shares = [(rest // procs + (1 if i < rest % procs else 0), False) for i in range(procs)]
    if probes:
        shares.append((probes, True))
    started = time.monotonic()
    workers = [
        ctx.Process(
            target=client_process,
            args=(url, k, ready, stop, results, light, probe, low),
            daemon=True,
        )
        for k, probe in shares
        if k
    ]
    for w in workers:
        w.start()
    snapshots = sum(ready.get(timeout=300) for _ in workers)
    info = {"connect_s": time.monotonic() - started, "rss_before": float("nan")}
    if gateway_pid:
        info["rss_before"] = rss_mb(gateway_pid)
    peak = [info["rss_before"]]
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.is_set():
            if gateway_pid:
                peak[0] = max(peak[0], rss_mb(gateway_pid))
            time.sleep(1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.monotonic()
    cpu_before = cpu_by_role()
    asyncio.run(during())
    time.sleep(3)  # let the tail of the updates arrive
    info["run_s"] = time.monotonic() - t0
    info["cpu"] = cpu_report(cpu_before, cpu_by_role(), info["run_s"])
    stop.set()
    sampling.set()
    stats = Stats()
    for _ in workers:
        part = results.get(timeout=120)
        merge(stats, part)
        if part["probe"]:
            info["probes"] = merge(Stats(), part)
            info["probe_priority"] = part["priority"]
        else:
            info["client_priority"] = part["priority"]
    for w in workers:
        w.join(10)
    info["rss_peak"] = peak[0]
    _ = snapshots
    return stats, info


def merge(stats: Stats, part: dict) -> Stats:
    """Add one client process's figures to ``stats``."""
    for kind, raw in part["latency"].items():
        stats.latency[kind].frombytes(raw)
    for kind, raw in part["steps"].items():
        stats.steps[kind].frombytes(raw)
    stats.timeline.frombytes(part["timeline"])
    stats.own.frombytes(part["own"])
    stats.read.frombytes(part["read"])
    stats.read_own.frombytes(part["read_own"])
    stats.delivered += part["delivered"]
    stats.snapshots += part["snapshots"]
    stats.out_of_order += part["out_of_order"]
    stats.merged += part["merged"]
    for k, v in part["closed"].items():
        stats.closed[k] += v
    return stats


def latency_table(stats: Stats, title: str) -> array:
    """Print the latency per kind and overall; returns every latency."""
    table = Table(title=title)
    for col in ("kind", "messages", "p50 ms", "p95 ms", "p99 ms", "max ms"):
        table.add_column(col, justify="right")
    every = array("d")
    for kind, values in sorted(stats.latency.items()):
        every.extend(values)
        table.add_row(
            kind,
            f"{len(values):,}",
            *(f"{percentile(values, q):.1f}" for q in (50, 95, 99)),
            f"{max(values):.1f}",
        )
    if every:
        table.add_row(
            "[bold]all",
            f"[bold]{len(every):,}",
            *(f"[bold]{percentile(every, q):.1f}" for q in (50, 95, 99)),
            f"[bold]{max(every):.1f}",
        )
    console.print(table)
    return every


def report(stats: Stats, info: dict, n: int) -> None:
    """Print the figures; with probes, the breakdowns and the verdict use theirs (exact)."""
    every = latency_table(stats, f"WebSocket fan-out: {n} clients")
    probes: Stats | None = info.get("probes")
    if probes is not None and not probes.latency:
        probes = None  # no probe got an update: nothing exact to report
    basis, whose = (stats, "all") if probes is None else (probes, "probe clients")
    basis_every = every
    if probes is not None:
        basis_every = latency_table(
            probes,
            f"The {probes.snapshots} probe clients ({info['probe_priority']}: each frame read "
            "on arrival)",
        )
    if basis.steps:
        split = Table(title=f"Where the time goes ({whose}): p50 / p99 ms of each step")
        split.add_column("kind", justify="right")
        for title in SEGMENTS.values():
            split.add_column(title, justify="right")
        for kind in sorted(basis.latency):
            cells = []
            for seg in SEGMENTS:
                values = step_values(basis, kind, seg)
                cells.append(
                    f"{percentile(values, 50):.1f} / {percentile(values, 99):.1f}"
                    if values
                    else "-"
                )
            split.add_row(kind, *cells)
        console.print(split)
    if basis.steps and basis_every:
        slowest(basis, percentile(basis_every, 99), whose)
    if len(basis.timeline) > 2:
        pairs = list(zip(basis.timeline[::2], basis.timeline[1::2], strict=True))
        start = min(t for t, _ in pairs)
        windows: dict[int, list[float]] = defaultdict(list)
        for t, ms in pairs:
            windows[int((t - start) // 10)].append(ms)
        console.print(
            f"p99 by 10 s of the run ({whose}): "
            + "  ".join(f"{k * 10}s:{percentile(v, 99):.0f}" for k, v in sorted(windows.items()))
        )
    console.print(
        f"clients with a snapshot: {stats.snapshots}/{n}; connect time {info['connect_s']:.1f} s; "
        f"messages delivered: {stats.delivered:,} ({stats.delivered / max(n, 1):,.0f} per client) "
        f"in {info['run_s']:.1f} s ({stats.delivered / max(info['run_s'], 1e-9):,.0f}/s); "
        f"out of order: {stats.out_of_order}; "
        f"closed early: {dict(stats.closed) or 0}"
    )
    console.print(info["cpu"])
    console.print(
        f"gateway RSS: {info['rss_before']:.0f} MB with clients connected, "
        f"peak {info['rss_peak']:.0f} MB"
    )
    received = "reached the client's socket (kernel receive time)" if stats.read else "received"
    p99 = percentile(every, 99) if every else float("nan")
    if stats.read:
        merged = f"{stats.merged / max(len(stats.read), 1):.1%}"
        if probes is not None:
            merged += f" (probe clients: {probes.merged / max(len(probes.read), 1):.1%})"
        console.print(
            "update frames that came in one read with others (written together, or merged in "
            f"the socket while unread): {merged}"
        )
    console.print(
        f"all clients ({info.get('client_priority', '')}), p99 produced_at -> {received}: "
        f"{p99:.1f} ms ("
        + (
            "an upper bound: a frame that arrives while an earlier one is unread merges with "
            "it in the socket and both take the later arrival time"
            if probes is not None
            else verdict(p99)
        )
        + "); derived events timed from the source event that triggered them"
    )
    if stats.own:
        console.print(
            "  from each event's own produced_at (derived events: the worker's output): "
            f"p50 {percentile(stats.own, 50):.1f} / p99 {percentile(stats.own, 99):.1f} ms"
        )
    if stats.read:
        console.print(
            "  to when the client's process read it (it shares the 2 cores with the server "
            f"and the other clients): p50 {percentile(stats.read, 50):.1f} / p99 "
            f"{percentile(stats.read, 99):.1f} ms; from each event's own produced_at: p50 "
            f"{percentile(stats.read_own, 50):.1f} / p99 {percentile(stats.read_own, 99):.1f} ms"
        )
    if probes is not None:
        p99 = percentile(basis_every, 99)
        console.print(
            f"probe clients (exact: each frame keeps its own arrival time; a random sample of "
            f"the {n}), p99 produced_at -> reached the client's socket: {p99:.1f} ms "
            f"({verdict(p99)}); from each event's own produced_at: p50 "
            f"{percentile(probes.own, 50):.1f} / p99 {percentile(probes.own, 99):.1f} ms"
        )


def verdict(p99: float) -> str:
    return "target <= 50 ms: " + ("[green]met[/]" if p99 <= 50 else "[red]missed[/]")


STEP_WIDTH = 1 + len(SEGMENTS)  # values per message in Stats.steps


def step_values(stats: Stats, kind: str, segment: str) -> list[float]:
    """The ms that ``kind``'s messages spent in ``segment`` (those that have the step)."""
    flat = stats.steps.get(kind, ())
    return present(flat[1 + list(SEGMENTS).index(segment) :: STEP_WIDTH])


def present(values) -> list[float]:
    """``values`` without the NaNs (NaN: not a step of that message)."""
    return [v for v in values if v == v]


def slowest(stats: Stats, threshold: float, whose: str) -> None:
    """Where the slowest 1% of messages (at or over the overall p99) spent their time."""
    table = Table(title=f"The slowest 1% ({whose}, >= {threshold:.1f} ms): mean ms of each step")
    for col in ("kind", "messages", "latency", *SEGMENTS.values()):
        table.add_column(col, justify="right")
    for kind, flat in sorted(stats.steps.items()):
        rows = [
            flat[i : i + STEP_WIDTH]
            for i in range(0, len(flat), STEP_WIDTH)
            if flat[i] >= threshold
        ]
        if not rows:
            continue
        cells = []
        for col in range(STEP_WIDTH):
            values = present(r[col] for r in rows)
            cells.append(f"{sum(values) / len(values):.1f}" if values else "-")
        table.add_row(kind, f"{len(rows):,}", *cells)
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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

    services = Services()
    try:
        services.start_stack()
        if not has_command("sink"):
            raise SystemExit("consumers/ has no `pitwall sink` yet: nothing writes Redis")
        sink = services.spawn("sink", "sink")
        worker = None
        if has_command("worker") and Path(REPO / "streams" / "app.py").exists():
            worker = services.spawn("worker", "worker")
        port = free_port()
        gw = services.spawn("gateway", "serve", "--port", str(port), "--workers", str(args.workers))
        wait_http(f"http://127.0.0.1:{port}/health/live", 60, gw)

        from pitwall.core.settings import get_settings
        from replay.timeline import build_timeline

        with console.status(f"loading {args.race[0]} {args.race[1]}..."):
            timeline = build_timeline(int(args.race[0]), args.race[1], settings=get_settings())
        run_id = uuid.uuid4().hex[:6]
        warm_key = f"{timeline.session_key}-wsw{run_id}"
        _, warm = split(timeline.with_session_key(warm_key), None, 4)
        with console.status("warming up sink, worker and gateway (4 laps)..."):
            replay(warm, None)
            what = "strategy" if worker else "standings"
            if not wait_redis_key(f"pitwall:session:{warm_key}:{what}", 90):
                console.print(f"[yellow]no {what} for the warm-up session after 90 s[/]")
                for name in ("sink", "worker"):
                    console.print(services.log_tail(name))
        key = f"{timeline.session_key}-ws{run_id}"
        catch_up, run = split(timeline.with_session_key(key), args.from_lap, args.to_lap or None)
        if catch_up.events:
            with console.status(f"replaying laps 1-{args.from_lap - 1} at max speed first..."):
                replay(catch_up, None)
                wait_redis_key(f"pitwall:session:{key}:standings", 60)
                time.sleep(3)  # let the sink and worker drain it before clients connect
        url = f"ws://127.0.0.1:{port}/ws/sessions/{key}"
        console.print(
            f"{args.clients} clients on {url}; replaying {len(run.events):,} events at "
            f"{args.speed:g}x (sink{', worker' if worker else ''}, gateway x{args.workers}; "
            f"{args.client} clients in {args.procs} processes)"
        )

        async def during() -> None:
            done = threading.Event()
            result: dict = {}

            def go() -> None:
                try:
                    result["summary"] = replay(run, args.speed)
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
        for name, proc in services.procs:
            if proc.poll() is not None:
                console.print(f"[red]{name} exited early ({proc.returncode})[/]")
        _ = sink, worker
    finally:
        services.stop()


if __name__ == "__main__":
    main()
