"""One connected client: its bounded queue, the task that drains it, and when it is too slow.

A client that keeps up (its sender idle, nothing queued) gets each burst written straight to
its socket (:mod:`api.gateway.direct`); any other client gets the burst in its queue, which
its sender drains into the socket, what queued up meanwhile as one batch frame. A client
with more than ``max_buffer`` bytes unsent (queue plus socket buffer) or ``QUEUE_SIZE``
bursts queued is too far behind: the gateway closes it and the others never wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from fastapi import WebSocket
from starlette.websockets import WebSocketState

from api.gateway.close_codes import CloseCode
from api.gateway.direct import DirectWriter, protocol_of
from api.gateway.frames import Item, joined_text
from api.gateway.stamps import observe
from api.metrics import Metrics
from core.settings import Settings

QUEUE_SIZE = 512  # bursts a client may fall behind before it is dropped
#: Bytes unsent in a client's queue and socket buffer before it is dropped; ``pitwall serve``
#: passes ``Settings.ws_max_buffer`` (``PITWALL_WS_MAX_BUFFER``), whose default this is.
MAX_WRITE_BUFFER: int = Settings.model_fields["ws_max_buffer"].default
BATCH_MAX = 64  # queued bursts sent together as {"type": "batch", "updates": [...]}

#: How the gateway drops a client: (client, close code, reason).
Drop = Callable[["Client", CloseCode, str], None]


class Client:
    """One connected socket, its bounded queue and the task that drains it."""

    __slots__ = (
        "backlog", "direct", "dropped", "idle", "last_sent", "max_buffer", "queue", "sampled",
        "sender", "sent_seq", "transport", "ws",
    )  # fmt: skip

    def __init__(
        self,
        ws: WebSocket,
        queue_size: int,
        max_buffer: int = MAX_WRITE_BUFFER,
        direct_writes: bool = True,
    ) -> None:
        self.ws = ws
        self.max_buffer = max_buffer
        self.queue: asyncio.Queue[Item] = asyncio.Queue(queue_size)
        self.sender: asyncio.Task | None = None
        self.dropped = False
        self.sampled = False  # this client's sends feed the broadcast-latency histogram
        proto = protocol_of(ws)
        self.transport: asyncio.WriteTransport | None = getattr(proto, "transport", None)
        self.direct = DirectWriter.of(proto) if proto is not None and direct_writes else None
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


async def send_loop(client: Client, metrics: Metrics, drop: Drop) -> None:
    """Drain the client's queue into its socket; a backlog goes out as one batch frame."""
    ws, queue, queued = client.ws, client.queue, metrics.frames.labels("queued")
    try:
        while True:
            client.idle = True
            items = [await client.take()]
            client.idle = False
            while not queue.empty() and len(items) < BATCH_MAX:
                items.append(client.take_nowait())
            await ws.send_text(joined_text(items))
            queued.inc()
            client.last_sent = time.monotonic()
            transport = client.transport
            if transport is not None and transport.get_write_buffer_size() > client.max_buffer:
                drop(client, CloseCode.TOO_SLOW, "too far behind; reconnect")
                return
            if client.sampled:
                observe(metrics.broadcast_seconds, items)
    except asyncio.CancelledError:
        raise
    except Exception:  # the socket went away; the receive loop notices and cleans up
        return
    finally:
        client.idle = False  # no sender: nothing may be written past the queue


async def close(ws: WebSocket, code: CloseCode, reason: str) -> None:
    """Close ``ws`` with ``code`` unless it is gone already (never raises)."""
    with contextlib.suppress(Exception):
        if ws.application_state != WebSocketState.DISCONNECTED:
            await asyncio.wait_for(ws.close(code, reason), 5)
