"""Helpers of the live tests: FastF1's reading of an archive file, and the parser's."""

from __future__ import annotations

from pathlib import Path

from producers.live import FeedError, LiveParser, read_feed
from schemas import Envelope


def fastf1_stream(path: Path) -> list[list]:
    """An archive file as FastF1's ``fetch_page`` hands it to its parsers: [clock, data]."""
    from fastf1 import _api

    text = path.read_bytes().decode("utf-8-sig")
    return [[line[:12], _api.parse(line[12:])] for line in text.splitlines() if line.strip()]


def parse_all(path: Path, session_key: str | None = None) -> tuple[LiveParser, list[Envelope]]:
    """Every event the parser emits for a recording (bad lines are skipped here)."""
    parser = LiveParser(session_key)
    events: list[Envelope] = []
    for line in read_feed(path):
        try:
            events.extend(parser.feed_line(line.text, line.topic))
        except FeedError:
            continue
    events.extend(parser.finish())
    return parser, events
