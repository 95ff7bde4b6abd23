"""The gateway of one API process: a Redis subscription per session with local clients.

A client joins its session's channel (subscribing first if it is the first), gets the
snapshot, then every update the channel fans out, and a heartbeat when nothing else was
sent. If the Redis subscription drops, its clients are closed (``CloseCode.UNAVAILABLE``):
what is published until they reconnect, to a new subscription and a fresh snapshot, would
be lost otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from fastapi import WebSocket, WebSocketDisconnect
from redis.asyncio import Redis
from starlette.websockets import WebSocketState

from api.deps import SESSION_KEY_RE
from api.gateway.clients import MAX_WRITE_BUFFER, QUEUE_SIZE, Client, close, send_loop
from api.gateway.close_codes import CloseCode
from api.gateway.direct import direct_writes_allowed
from api.gateway.fanout import Channel
from api.gateway.frames import heartbeat, pong, snapshot_text
from api.live import live_channel, snapshot
from api.metrics import Metrics

log = logging.getLogger(__name__)

HEARTBEAT_S = 5.0


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
        self.direct_writes = direct_writes_allowed()
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
                await channel.fan_out(pubsub, msg["data"], self.metrics, self._drop)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("subscription to %s failed; clients are closed", channel.session_key)
            for client in list(channel.clients):
                self._drop(client, CloseCode.UNAVAILABLE, "live feed lost")
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

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

    def _drop(self, client: Client, code: CloseCode, reason: str) -> None:
        if client.dropped:
            return
        client.dropped = True
        self.metrics.dropped.inc()
        if client.sender is not None:
            client.sender.cancel()
        task = asyncio.create_task(close(client.ws, code, reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s / 2)
            now = time.monotonic()
            for channel in list(self.channels.values()):
                if channel.sending:  # its clients are at different seqs just now
                    continue
                beat = heartbeat(channel.seq)
                for client in list(channel.clients):
                    if now - client.last_sent >= self.heartbeat_s and client.queue.empty():
                        client.offer(beat)

    # -- one client -----------------------------------------------------------------------
    async def serve(self, ws: WebSocket, session_key: str) -> None:
        if ws.client_state == WebSocketState.CONNECTING:  # not yet accepted to authenticate
            await ws.accept()
        if not SESSION_KEY_RE.match(session_key):
            await ws.close(CloseCode.BAD_SESSION, "invalid session key, e.g. 2023-monaco-R")
            return
        if self.redis is None:
            await ws.close(CloseCode.UNAVAILABLE, "Redis is not configured")
            return
        client = Client(ws, self.queue_size, self.max_buffer, self.direct_writes)
        try:
            channel = await self._join(session_key, client)
        except Exception as exc:  # Redis down or not answering
            log.warning("cannot subscribe to %s: %s", session_key, exc)
            await ws.close(CloseCode.UNAVAILABLE, "live feed unavailable, retry")
            return
        # Subscribed before the snapshot is read: nothing published after it is lost. Updates
        # with a seq above the snapshot's may already be reflected in it (apply idempotently).
        snapshot_seq = channel.seq
        try:
            try:
                snap = await snapshot(self.redis, session_key)
            except Exception as exc:
                log.warning("snapshot of %s failed: %s", session_key, exc)
                await ws.close(CloseCode.UNAVAILABLE, "live state unavailable, retry")
                return
            await ws.send_text(snapshot_text(snap, snapshot_seq))
            client.sender = asyncio.create_task(send_loop(client, self.metrics, self._drop))
            while True:  # reads until the client goes; answers application pings
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if message.get("text") and '"ping"' in message["text"]:
                    client.offer(pong())
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            if client.sender is not None:
                client.sender.cancel()
            await self._leave(channel, client)
