"""The WebSocket gateway: ``/ws/sessions/{session_key}`` pushes a session's live updates.

On connect a client gets ``{"type": "snapshot", ...}`` (the session's current state from
Redis), then every update the Redis writer publishes on ``pitwall:live:{key}`` as
``{"type": "update", "seq": n, "kind": ..., "topic": ..., "published_at": epoch_s,
"data": ...}`` in the order Redis delivered them (``published_at``: when the Redis writer
published it), and ``{"type": "heartbeat"}`` every few seconds when nothing else was sent.
When a client's socket is slower than the updates, what queued up meanwhile goes out as one
``{"type": "batch", "updates": [update, ...]}`` frame (same order): one send instead of
many is what lets a slow socket catch up.

Because fan-out goes through Redis pub/sub, any number of gateway processes can run behind a
load balancer. The modules, one concern each:

* :mod:`~api.gateway.frames`: the text of every frame, and a burst encoded once (``Item``);
* :mod:`~api.gateway.stamps`: the latency stamps of an update, and the histogram they feed;
* :mod:`~api.gateway.direct`: writing frames straight to uvicorn's sockets (the only module
  that touches the server's internals);
* :mod:`~api.gateway.clients`: a client's bounded queue, its sender, when it is too slow;
* :mod:`~api.gateway.fanout`: a session's channel and the fan-out of its bursts;
* :mod:`~api.gateway.hub`: the ``Gateway``: subscriptions per session, heartbeats, serving one
  socket; :mod:`~api.gateway.router`: the route;
* :mod:`~api.gateway.close_codes`: why a socket was closed (``CloseCode``).
"""

from api.gateway.close_codes import CloseCode
from api.gateway.hub import Gateway
from api.gateway.router import router

__all__ = ["CloseCode", "Gateway", "router"]
