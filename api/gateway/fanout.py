"""One session's channel in a gateway process, and the fan-out of its updates to the clients.

Each burst of updates Redis delivers is numbered, encoded once as one WebSocket frame, and
written to every local client: straight to the socket of a client that keeps up, into the
queue of any other. Clients are written ``CHUNK`` at a time, and what Redis delivered
meanwhile joins the burst: the clients not yet written get it in the same write, those
already written in a shorter pass after. An update that arrives during a burst (a lap's
degradation and strategy come a few milliseconds after its standings) so waits for one
chunk, not for the whole burst.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from api.gateway.clients import Client, Drop
from api.gateway.close_codes import CloseCode
from api.gateway.frames import Item, update_text
from api.gateway.stamps import observe, stamps
from api.metrics import Metrics

log = logging.getLogger(__name__)

BURST_MAX = 64  # pub/sub messages read from Redis at once into one burst
CHUNK = 64  # clients written between two looks for updates that arrived meanwhile


class Channel:
    """One session's Redis subscription in this process and its local clients."""

    def __init__(self, session_key: str) -> None:
        self.session_key = session_key
        self.clients: set[Client] = set()
        self.ready = asyncio.Event()
        self.task: asyncio.Task | None = None
        self.seq = 0
        self.sending = False  # a fan-out is under way (its clients are at different seqs)

    async def fan_out(self, pubsub: Any, first: bytes, metrics: Metrics, drop: Drop) -> None:
        """Send ``first`` (and what arrives meanwhile) to every local client, in order.

        Each pass writes the clients that lack some of the burst's items, ``CHUNK`` at a
        time, reading Redis between chunks. A client gets everything it lacks in one write
        (the items' frames back to back), so an item that arrives mid-pass costs the clients
        not yet written nothing extra; the next pass brings the others up to date.
        """
        started = time.time()
        items: list[Item] = []
        self._add(items, await _arrived(pubsub, first), metrics)
        if not items:
            return
        direct = 0
        self.sending = True
        try:
            while todo := [
                c for c in self.clients if c.sent_seq < items[-1].last_seq and not c.dropped
            ]:
                for start in range(0, len(todo), CHUNK):
                    if start:
                        self._add(items, await _arrived(pubsub), metrics)
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
                                observe(metrics.broadcast_seconds, items[k:])
                            continue
                        for it in items[k:]:
                            if not client.offer(it):
                                drop(client, CloseCode.TOO_SLOW, "too far behind; reconnect")
                                break
        finally:
            self.sending = False
        if direct:
            metrics.frames.labels("direct").inc(direct)
        metrics.fanout_seconds.observe(time.time() - started)

    def _add(self, items: list[Item], payloads: list[bytes], metrics: Metrics) -> None:
        """Number the pub/sub messages ``payloads`` and append them to ``items`` as one."""
        if not payloads:
            return
        now = time.time()
        frames = []
        kinds = []
        for payload in payloads:
            body = payload.decode() if isinstance(payload, bytes) else payload
            if not body.startswith("{"):
                log.warning("ignoring non-JSON live message on %s", self.session_key)
                continue
            self.seq += 1
            produced, published, kind = stamps(body)
            if published is not None:
                metrics.pubsub_seconds.observe(max(now - published, 0.0))
            metrics.messages.labels(kind).inc()
            kinds.append((produced, kind))
            frames.append(update_text(self.seq, body))
        if frames:
            items.append(Item(frames, kinds, self.seq))


async def _arrived(pubsub: Any, first: bytes | None = None) -> list[bytes]:
    """``first`` and whatever else Redis has already delivered (never waits)."""
    burst = [] if first is None else [first]
    while len(burst) < BURST_MAX:
        more = await pubsub.get_message(timeout=0.0)
        if more is None:
            break
        if more["type"] == "message":
            burst.append(more["data"])
    return burst


def _first_after(items: list[Item], seq: int) -> int:
    """Index of the first of ``items`` with updates after ``seq``."""
    for i, item in enumerate(items):
        if item.last_seq > seq:
            return i
    return len(items)
