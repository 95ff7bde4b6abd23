"""The clients of the WebSocket benchmark: a minimal RFC 6455 client on plain sockets (or the
``websockets`` library's), the figures each takes of every frame, and the processes they run
in (probes at real-time priority, the others in the background).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import re
import resource
import socket
import struct
import time
from array import array
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import orjson
from websockets.frames import Frame, Opcode
from websockets.utils import accept_key


def raise_nofile() -> int:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 1 << 20
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


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
STEP_WIDTH = 1 + len(SEGMENTS)  # values per message in Stats.steps


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
    off the socket. It answers pings and closes, and needs far less CPU per message than a
    full client library (``benchmarks/RESULTS.md``), which matters when a thousand of them
    share two cores with the server they measure (``--client websockets`` uses the library).

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
