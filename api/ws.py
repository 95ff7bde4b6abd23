"""The WebSocket gateway: ``/ws/sessions/{session_key}`` pushes a session's live updates.

On connect a client gets ``{"type": "snapshot", ...}`` (the session's current state from
Redis), then every update the Redis writer publishes on ``pitwall:live:{key}`` as
``{"type": "update", "seq": n, "kind": ..., "topic": ..., "published_at": epoch_s,
"data": ...}`` in the order Redis delivered them (``published_at``: when the Redis writer
published it), and ``{"type": "heartbeat"}`` every few seconds when nothing else was sent.
When a client's socket is slower than the updates, what queued up meanwhile goes out as one
``{"type": "batch", "updates": [update, ...]}`` frame (same order), which keeps up far better
than one frame per update.

Fan-out: each gateway process holds one Redis subscription per session with local clients.
Each burst of updates is encoded once, as one WebSocket frame; a client that is keeping up
(nothing queued, socket writable) gets those bytes written straight to its socket, which costs
a few microseconds instead of a pass through the ASGI send path per client. Any other client
gets the burst in its bounded queue, which a per-client task drains into the socket. Clients
are written ``CHUNK`` at a time, and what Redis delivered meanwhile joins the burst: the
clients not yet written get it in the same write, those already written in a shorter pass
after. An update that arrives during a burst (a lap's degradation and strategy come a few
milliseconds after its standings) so waits for one chunk, not for the whole burst. A
client that has fallen too far behind (more than ``PITWALL_WS_MAX_BUFFER`` bytes queued and
unsent, or ``QUEUE_SIZE`` bursts) is closed with code 1013 (try again later) and the others
never wait for it. If the Redis subscription drops, its clients are closed
with 1011: what is published until they reconnect (to a new subscription and a fresh snapshot)
would be lost otherwise. Because fan-out goes through Redis pub/sub, any number of gateway
processes can run behind a load balancer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime
from typing import Any

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from redis.asyncio import Redis
from starlette.websockets import WebSocketState
from websockets.frames import Frame, Opcode
from websockets.protocol import State

from api.deps import SESSION_KEY_RE
from api.live import live_channel, snapshot
from api.metrics import Metrics

log = logging.getLogger(__name__)

QUEUE_SIZE = 512  # messages a client may fall behind before it is dropped
HEARTBEAT_S = 5.0
#: Bytes unsent in a client's socket buffer before it is dropped (``Settings.ws_max_buffer``).
MAX_WRITE_BUFFER = 1 << 20
BATCH_MAX = 64  # queued messages sent together as {"type": "batch", "updates": [...]}
CHUNK = 64  # clients written between two looks for updates that arrived meanwhile
CLOSE_TOO_SLOW = 1013
CLOSE_BAD_SESSION = 1008


class Item:
    """One burst of updates as queued for every client; its frame text is built once."""

    __slots__ = ("_text", "_wire", "frames", "kinds", "last_seq", "size")

    def __init__(
        self, frames: list[str], kinds: list[tuple[float | None, str]], last_seq: int = 0
    ) -> None:
        self.frames = frames
        self.kinds = kinds
        self.last_seq = last_seq  # seq of its last update (0: not an update)
        self.size = sum(len(f) + 1 for f in frames)  # characters it adds to a batch frame
        self._text: str | None = None
        self._wire: bytes | None = None

    def wire(self) -> bytes:
        """The whole server-to-client WebSocket frame (unmasked, uncompressed), built once."""
        if self._wire is None:
            self._wire = Frame(Opcode.TEXT, self.text().encode()).serialize(mask=False)
        return self._wire

    def text(self) -> str:
        if self._text is None:
            if len(self.frames) == 1:
                self._text = self.frames[0]
            else:
                self._text = f'{{"type":"batch","updates":[{",".join(self.frames)}]}}'
        return self._text


class DirectWriter:
    """Writes ready-made frames straight to one uvicorn ``websockets-sansio`` connection.

    Sound while the connection is open, uncompressed, not mid-way through a fragmented
    message, not paused by flow control, and nothing else of ours is waiting to be sent to
    it: frames then reach the socket whole and in order, exactly as the ASGI send would
    have written them. ``Client.try_direct`` checks the last condition.
    """

    __slots__ = ("conn", "proto", "transport")

    def __init__(self, proto: Any) -> None:
        self.proto = proto
        self.conn = proto.conn
        self.transport = proto.transport

    @classmethod
    def of(cls, proto: Any) -> DirectWriter | None:
        """A writer for ``proto`` when it is a connection this can write to, else None."""
        conn = getattr(proto, "conn", None)
        if (
            conn is None
            or not hasattr(proto, "writable")
            or not hasattr(proto, "close_sent")
            or getattr(conn, "extensions", None)  # compression: frames must go through it
            or not hasattr(conn, "expect_continuation_frame")
        ):
            return None
        return cls(proto)

    def write(self, wire: bytes) -> bool:
        """Write ``wire`` (one whole frame) if the connection can take it now."""
        proto, conn, transport = self.proto, self.conn, self.transport
        if (
            proto.close_sent
            or not proto.writable.is_set()
            or conn.state is not State.OPEN
            or conn.expect_continuation_frame
            or transport.is_closing()
        ):
            return False
        transport.write(wire)
        return True


class Client:
    """One connected socket, its bounded queue and the task that drains it."""

    __slots__ = (
        "backlog", "direct", "dropped", "idle", "last_sent", "max_buffer", "queue", "sampled",
        "sender", "sent_seq", "transport", "ws",
    )  # fmt: skip

    def __init__(self, ws: WebSocket, queue_size: int, max_buffer: int = MAX_WRITE_BUFFER) -> None:
        self.ws = ws
        self.max_buffer = max_buffer
        self.queue: asyncio.Queue[Item] = asyncio.Queue(queue_size)
        self.sender: asyncio.Task | None = None
        self.dropped = False
        self.sampled = False  # this client's sends feed the broadcast-latency histogram
        proto = _protocol_of(ws)
        self.transport: asyncio.WriteTransport | None = getattr(proto, "transport", None)
        self.direct = DirectWriter.of(proto) if proto is not None else None
        self.idle = False  # the sender waits on an empty queue (nothing of ours in flight)
        self.last_sent = time.monotonic()
        self.backlog = 0  # size of the items queued and not yet taken by the sender
        #: seq of the last update handed to it (on joining: the channel's seq then)
        self.sent_seq = 0

    def unsent(self) -> int:
        """Bytes (about) waiting for this client: its queue plus its socket's write buffer."""
        t = self.transport
        return self.backlog + (t.get_write_buffer_size() if t is not None else 0)

    def try_direct(self, wire: bytes, now: float) -> bool:
        """Write a burst's frame straight to the socket if the client is keeping up (its
        sender idle, nothing queued); else False."""
        direct = self.direct
        if direct is None or not self.idle or self.backlog or self.dropped:
            return False
        if not direct.write(wire):
            return False
        self.last_sent = now
        return True

    def offer(self, item: Item) -> bool:
        """Queue ``item``; False when the client is too far behind to take it."""
        if self.unsent() + item.size > self.max_buffer:
            return False
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            return False
        self.backlog += item.size
        return True

    def take_nowait(self) -> Item:
        item = self.queue.get_nowait()
        self.backlog -= item.size
        return item

    async def take(self) -> Item:
        item = await self.queue.get()
        self.backlog -= item.size
        return item


class Channel:
    """One session's Redis subscription in this process and its local clients."""

    def __init__(self, session_key: str) -> None:
        self.session_key = session_key
        self.clients: set[Client] = set()
        self.ready = asyncio.Event()
        self.task: asyncio.Task | None = None
        self.seq = 0
        self.sending = False  # a fan-out is under way (its clients are at different seqs)


class Gateway:
    """Redis pub/sub to local WebSocket clients, per session."""

    def __init__(
        self,
        redis: Redis | None,
        metrics: Metrics,
        queue_size: int = QUEUE_SIZE,
        heartbeat_s: float = HEARTBEAT_S,
        max_buffer: int = MAX_WRITE_BUFFER,
    ) -> None:
        self.redis = redis
        self.max_buffer = max_buffer
        self.metrics = metrics
        self.queue_size = queue_size
        self.heartbeat_s = heartbeat_s
        self.channels: dict[str, Channel] = {}
        self._lock = asyncio.Lock()
        self._heartbeat: asyncio.Task | None = None
        self._closing: set[asyncio.Task] = set()

    @property
    def client_count(self) -> int:
        return sum(len(c.clients) for c in self.channels.values())

    async def start(self) -> None:
        self._heartbeat = asyncio.create_task(self._heartbeats(), name="ws-heartbeat")

    async def stop(self) -> None:
        tasks = [c.task for c in self.channels.values() if c.task]
        if self._heartbeat:
            tasks.append(self._heartbeat)
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self.channels.clear()

    # -- subscription per session ---------------------------------------------------------
    async def _join(self, session_key: str, client: Client) -> Channel:
        """Add ``client`` to the session's channel (subscribing first if needed); returns once
        the subscription is confirmed, so nothing published after that can be missed."""
        async with self._lock:
            channel = self.channels.get(session_key)
            if channel is None or (channel.task is not None and channel.task.done()):
                channel = Channel(session_key)
                self.channels[session_key] = channel
                channel.task = asyncio.create_task(self._pump(channel), name=f"ws-{session_key}")
            client.sampled = not any(c.sampled for c in channel.clients)
            client.sent_seq = channel.seq
            channel.clients.add(client)  # under the lock: _leave cannot end the channel now
        self.metrics.clients.inc()
        try:
            await asyncio.wait_for(channel.ready.wait(), 10)
        except BaseException:
            await self._leave(channel, client)
            raise
        return channel

    async def _pump(self, channel: Channel) -> None:
        assert self.redis is not None
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(live_channel(channel.session_key))
            channel.ready.set()
            while True:
                msg = await pubsub.get_message(timeout=None)
                if msg is None or msg["type"] != "message":
                    continue
                await self._fan_out(channel, pubsub, msg["data"])
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("subscription to %s failed; clients are closed", channel.session_key)
            for client in list(channel.clients):
                self._drop(client, 1011, "live feed lost")
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    async def _arrived(self, pubsub: Any, first: bytes | None = None) -> list[bytes]:
        """``first`` and whatever else Redis has already delivered (never waits)."""
        burst = [] if first is None else [first]
        while len(burst) < BATCH_MAX:
            more = await pubsub.get_message(timeout=0.0)
            if more is None:
                break
            if more["type"] == "message":
                burst.append(more["data"])
        return burst

    async def _fan_out(self, channel: Channel, pubsub: Any, first: bytes) -> None:
        """Send ``first`` (and what arrives meanwhile) to every local client, in order.

        Each pass writes the clients that lack some of the burst's items, ``CHUNK`` at a
        time, reading Redis between chunks. A client gets everything it lacks in one write
        (the items' frames back to back), so an item that arrives mid-pass costs the clients
        not yet written nothing extra; the next pass brings the others up to date.
        """
        started = time.time()
        items: list[Item] = []
        self._add(channel, items, await self._arrived(pubsub, first))
        if not items:
            return
        direct = 0
        channel.sending = True
        try:
            while todo := [
                c for c in channel.clients if c.sent_seq < items[-1].last_seq and not c.dropped
            ]:
                for start in range(0, len(todo), CHUNK):
                    if start:
                        self._add(channel, items, await self._arrived(pubsub))
                    last, now = items[-1].last_seq, time.monotonic()
                    wires: dict[int, bytes] = {}  # first item's index -> frames up to the last
                    for client in todo[start : start + CHUNK]:
                        if client.dropped:
                            continue
                        seq = client.sent_seq
                        k = 0 if seq < items[0].last_seq else _first_after(items, seq)
                        wire = wires.get(k)
                        if wire is None:
                            wire = wires[k] = b"".join(it.wire() for it in items[k:])
                        client.sent_seq = last
                        if client.try_direct(wire, now):
                            direct += 1
                            if client.sampled:
                                self._observe(items[k:])
                            continue
                        for it in items[k:]:
                            if not client.offer(it):
                                self._drop(client, CLOSE_TOO_SLOW, "too far behind; reconnect")
                                break
        finally:
            channel.sending = False
        if direct:
            self.metrics.frames.labels("direct").inc(direct)
        self.metrics.fanout_seconds.observe(time.time() - started)

    def _add(self, channel: Channel, items: list[Item], payloads: list[bytes]) -> None:
        """Number the pub/sub messages ``payloads`` and append them to ``items`` as one."""
        if not payloads:
            return
        now = time.time()
        frames = []
        kinds = []
        for payload in payloads:
            body = payload.decode() if isinstance(payload, bytes) else payload
            if not body.startswith("{"):
                log.warning("ignoring non-JSON live message on %s", channel.session_key)
                continue
            channel.seq += 1
            produced, published, kind = _stamps(body)
            if published is not None:
                self.metrics.pubsub_seconds.observe(max(now - published, 0.0))
            self.metrics.messages.labels(kind).inc()
            kinds.append((produced, kind))
            frames.append(f'{{"type":"update","seq":{channel.seq},{body[1:]}')
        if frames:
            items.append(Item(frames, kinds, channel.seq))

    def _observe(self, items: list[Item]) -> None:
        """Broadcast latency (event produced -> written to the socket) of ``items``."""
        now, observe = time.time(), self.metrics.broadcast_seconds
        for it in items:
            for produced, kind in it.kinds:
                if produced is not None:
                    observe.labels(kind).observe(max(now - produced, 0.0))

    def _drop(self, client: Client, code: int, reason: str) -> None:
        if client.dropped:
            return
        client.dropped = True
        self.metrics.dropped.inc()
        if client.sender is not None:
            client.sender.cancel()
        task = asyncio.create_task(_close(client.ws, code, reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s / 2)
            now = time.monotonic()
            for channel in list(self.channels.values()):
                if channel.sending:  # its clients are at different seqs just now
                    continue
                beat = Item(
                    [
                        orjson.dumps(
                            {"type": "heartbeat", "seq": channel.seq, "server_time": time.time()}
                        ).decode()
                    ],
                    [],
                )
                for client in list(channel.clients):
                    if now - client.last_sent >= self.heartbeat_s and client.queue.empty():
                        client.offer(beat)

    # -- one client -----------------------------------------------------------------------
    async def serve(self, ws: WebSocket, session_key: str) -> None:
        await ws.accept()
        if not SESSION_KEY_RE.match(session_key):
            await ws.close(CLOSE_BAD_SESSION, "invalid session key, e.g. 2023-monaco-R")
            return
        if self.redis is None:
            await ws.close(1011, "Redis is not configured")
            return
        client = Client(ws, self.queue_size, self.max_buffer)
        try:
            channel = await self._join(session_key, client)
        except Exception as exc:  # Redis down or not answering
            log.warning("cannot subscribe to %s: %s", session_key, exc)
            await ws.close(1011, "live feed unavailable, retry")
            return
        # Subscribed before the snapshot is read: nothing published after it is lost. Updates
        # with a seq above the snapshot's may already be reflected in it (apply idempotently).
        snapshot_seq = channel.seq
        try:
            try:
                snap = await snapshot(self.redis, session_key)
            except Exception as exc:
                log.warning("snapshot of %s failed: %s", session_key, exc)
                await ws.close(1011, "live state unavailable, retry")
                return
            snap["type"] = "snapshot"
            snap["seq"] = snapshot_seq
            await ws.send_text(orjson.dumps(snap).decode())
            client.sender = asyncio.create_task(self._send_loop(client))
            while True:  # reads until the client goes; answers application pings
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if message.get("text") and '"ping"' in message["text"]:
                    pong = orjson.dumps({"type": "pong", "server_time": time.time()}).decode()
                    client.offer(Item([pong], []))
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            if client.sender is not None:
                client.sender.cancel()
            await self._leave(channel, client)

    async def _send_loop(self, client: Client) -> None:
        """Drain the client's queue into its socket; a backlog goes out as one batch frame."""
        ws, queue, queued = client.ws, client.queue, self.metrics.frames.labels("queued")
        try:
            while True:
                client.idle = True
                item = await client.take()
                client.idle = False
                if queue.empty():
                    text = item.text()
                    items = [item]
                else:
                    items = [item]
                    while not queue.empty() and len(items) < BATCH_MAX:
                        items.append(client.take_nowait())
                    body = ",".join(f for it in items for f in it.frames)
                    text = f'{{"type":"batch","updates":[{body}]}}'
                await ws.send_text(text)
                queued.inc()
                client.last_sent = time.monotonic()
                transport = client.transport
                if transport is not None and transport.get_write_buffer_size() > client.max_buffer:
                    self._drop(client, CLOSE_TOO_SLOW, "too far behind; reconnect")
                    return
                if client.sampled:
                    self._observe(items)
        except asyncio.CancelledError:
            raise
        except Exception:  # the socket went away; the receive loop notices and cleans up
            return
        finally:
            client.idle = False  # no sender: nothing may be written past the queue

    async def _leave(self, channel: Channel, client: Client) -> None:
        """Remove ``client``; the last one out of a session ends its subscription."""
        async with self._lock:
            channel.clients.discard(client)
            self.metrics.clients.dec()
            if client.sampled and channel.clients:
                next(iter(channel.clients)).sampled = True
            if not channel.clients and self.channels.get(channel.session_key) is channel:
                del self.channels[channel.session_key]
                if channel.task is not None:
                    channel.task.cancel()


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):
        if ws.application_state != WebSocketState.DISCONNECTED:
            await asyncio.wait_for(ws.close(code, reason), 5)


def _first_after(items: list[Item], seq: int) -> int:
    """Index of the first of ``items`` with updates after ``seq``."""
    for i, item in enumerate(items):
        if item.last_seq > seq:
            return i
    return len(items)


def _protocol_of(ws: WebSocket) -> Any | None:
    """The server's connection object behind the ASGI ``send`` callable (the one holding the
    socket transport), if any.

    A slow reader shows up first in its transport's buffer (then, once the transport pauses,
    in the client's queue); counting both lets the gateway drop it. Other servers: None (the
    queue's own size and bound still apply, and every update goes through the queue).
    """
    seen = 0
    todo = [ws._send]
    while todo and seen < 8:
        fn = todo.pop()
        seen += 1
        owner = getattr(fn, "__self__", None)
        transport = getattr(owner, "transport", None)
        if transport is not None and hasattr(transport, "get_write_buffer_size"):
            return owner
        for cell in getattr(fn, "__closure__", None) or ():
            with contextlib.suppress(ValueError):
                if callable(cell.cell_contents):
                    todo.append(cell.cell_contents)
    return None


def _stamps(body: str) -> tuple[float | None, float | None, str]:
    """Epoch seconds the event was produced (its source's, for derived events), when the
    Redis writer published it, and its kind."""
    try:
        msg: dict[str, Any] = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None, None, "invalid"
    kind = str(msg.get("kind", "unknown"))
    published = msg.get("published_at")
    if not isinstance(published, int | float):
        published = None
    data = msg.get("data")
    if isinstance(data, list):
        data = data[-1] if data else None
    if not isinstance(data, dict):
        return None, published, kind
    stamp = data.get("source_produced_at") or data.get("produced_at")
    if not isinstance(stamp, str):
        return None, published, kind
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp(), published, kind
    except ValueError:
        return None, published, kind


router = APIRouter()


@router.websocket("/ws/sessions/{session_key}")
async def session_socket(ws: WebSocket, session_key: str) -> None:
    """Snapshot, then every live update of the session, with heartbeats."""
    gateway: Gateway = ws.app.state.gateway
    await gateway.serve(ws, session_key)
