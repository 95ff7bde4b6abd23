"""Writing ready-made frames straight to uvicorn's sockets: the one module that touches the
server's internals.

``pitwall serve`` runs uvicorn with its ``websockets-sansio`` protocol. Behind the ASGI
``send`` callable of each WebSocket sits uvicorn's protocol object, holding the socket's
transport and a websockets ``ServerProtocol`` (``conn``). For a client that keeps up, the
gateway writes each burst's frame, encoded once for all clients, to that transport itself
instead of one ASGI ``send`` per client (the gateway's main cost with many clients).

That relies on attributes uvicorn and websockets do not promise to keep (``conn``,
``transport``, ``writable``, ``close_sent``, ``expect_continuation_frame``), so the writer is
only used with the releases in :data:`TESTED` (``tests/api/test_ws.py`` holds the installed
ones to it and checks that a real ``pitwall serve`` connection gets a writer). Under another
release, server or protocol every frame goes through the client's queue and the ASGI send,
which is slower but equally correct.
"""

from __future__ import annotations

import contextlib
import logging
from importlib.metadata import version
from typing import Any

from starlette.websockets import WebSocket
from websockets.protocol import State

from core.compat import IncompatibleLibraryError, require_params

log = logging.getLogger(__name__)

#: Minor releases (major for websockets) the direct writer is tested with.
TESTED: dict[str, tuple[str, ...]] = {"uvicorn": ("0.54",), "websockets": ("17",)}


def untested_releases(installed: dict[str, str] | None = None) -> list[str]:
    """The installed releases of uvicorn and websockets (or ``installed``) that are not in
    :data:`TESTED`, as ``name version`` (empty when all are tested)."""
    out = []
    for name, releases in TESTED.items():
        v = (installed or {}).get(name) or version(name)
        if not any(v == r or v.startswith(f"{r}.") for r in releases):
            out.append(f"{name} {v}")
    return out


def direct_writes_allowed() -> bool:
    """Whether the installed server libraries are tested with :class:`DirectWriter` (says
    why not in the log when they are not)."""
    try:  # the ASGI send that protocol_of looks behind: Starlette keeps it as ``_send``
        require_params(WebSocket, "__init__", ("self", "scope", "receive", "send"), "starlette")
    except IncompatibleLibraryError as exc:
        log.warning("%s: every frame goes through the ASGI send path", exc)
        return False
    untested = untested_releases()
    if untested:
        tested = ", ".join(f"{n} {' / '.join(r)}.x" for n, r in TESTED.items())
        log.warning(
            "%s not tested with the gateway's direct writes (tested: %s): every frame goes "
            "through the ASGI send path",
            ", ".join(untested),
            tested,
        )
    return not untested


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


def protocol_of(ws: WebSocket) -> Any | None:
    """The server's connection object behind the ASGI ``send`` callable (the one holding the
    socket transport), if any.

    A slow reader shows up first in its transport's buffer (then, once the transport pauses,
    in the client's queue); counting both lets the gateway drop it. Other servers: None (the
    queue's own size and bound still apply, and every update goes through the queue).
    """
    seen = 0
    todo = [getattr(ws, "_send", None)]
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
