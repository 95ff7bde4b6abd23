"""The text of every frame the gateway sends, each built in one place.

An update is the Redis writer's message with the gateway's ``seq`` put first; several
updates go out as one ``{"type": "batch", "updates": [...]}`` frame. An :class:`Item` is one
burst of updates as queued for every client of a session: its text and its whole WebSocket
frame are built once, however many clients it goes to.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from websockets.frames import Frame, Opcode


def update_text(seq: int, body: str) -> str:
    """An update frame's text from the Redis writer's JSON object ``body``."""
    return f'{{"type":"update","seq":{seq},{body[1:]}'


def frame_text(frames: list[str]) -> str:
    """One frame's text for ``frames`` in order: the frame itself, or a batch of them."""
    if len(frames) == 1:
        return frames[0]
    return f'{{"type":"batch","updates":[{",".join(frames)}]}}'


def snapshot_text(snapshot: dict[str, Any], seq: int) -> str:
    """The first frame a client gets: the session's live state as of update ``seq``."""
    return orjson.dumps({**snapshot, "type": "snapshot", "seq": seq}).decode()


class Item:
    """One burst of updates as queued for every client; its frame text is built once."""

    __slots__ = ("_text", "_wire", "frames", "kinds", "last_seq", "size")

    def __init__(
        self, frames: list[str], kinds: list[tuple[float | None, str]], last_seq: int = 0
    ) -> None:
        self.frames = frames
        #: (epoch seconds its event was produced, kind) of each update, for latency metrics
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
            self._text = frame_text(self.frames)
        return self._text


def joined_text(items: list[Item]) -> str:
    """One frame's text for several queued items (a batch of all their updates, in order)."""
    if len(items) == 1:
        return items[0].text()
    return frame_text([f for it in items for f in it.frames])


def heartbeat(seq: int) -> Item:
    """Sent when nothing else was: the session's current ``seq`` and the server's time."""
    text = orjson.dumps({"type": "heartbeat", "seq": seq, "server_time": time.time()}).decode()
    return Item([text], [])


def pong() -> Item:
    """The answer to a client's application-level ``ping``."""
    return Item([orjson.dumps({"type": "pong", "server_time": time.time()}).decode()], [])
