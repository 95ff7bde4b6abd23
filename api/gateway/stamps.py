"""The latency stamps an update carries, and the broadcast-latency histogram they feed.

The Redis writer publishes each update with ``published_at`` (epoch seconds) and the event,
whose ``produced_at`` (``source_produced_at`` for a derived event: when its source event was
produced) starts the clock of ``pitwall_ws_broadcast_latency_seconds``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson
from prometheus_client import Histogram

from api.gateway.frames import Item


def stamps(body: str) -> tuple[float | None, float | None, str]:
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


def observe(histogram: Histogram, items: Iterable[Item]) -> None:
    """Broadcast latency (event produced -> written to the socket) of ``items``, now."""
    now = time.time()
    for it in items:
        for produced, kind in it.kinds:
            if produced is not None:
                histogram.labels(kind).observe(max(now - produced, 0.0))
