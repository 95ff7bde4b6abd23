"""Decoding the raw pieces of F1's live-timing feed: ``.z`` payloads, clocks, timestamps.

The feed compresses its high-rate topics (``CarData.z``, ``Position.z``) as base64 of raw
DEFLATE (no zlib header) wrapping JSON; archive files time-stamp lines with the session
clock ``HH:MM:SS.mmm``; messages carry UTC ISO timestamps with up to 7 fractional digits.
Every failure raises :class:`FeedError` with a reason fit for the dead-letter topic.
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from datetime import UTC, datetime
from typing import Any

import orjson


class FeedError(ValueError):
    """A feed message that cannot be parsed; ``str(exc)`` is the reason."""


_CLOCK = re.compile(r"^(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$")
_UTC = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?Z?$")


def inflate(payload: str) -> Any:
    """Decode a ``.z`` payload: base64 -> raw DEFLATE -> JSON."""
    text = payload.strip().strip('"')
    try:
        packed = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FeedError(f"invalid base64 in .z payload: {exc}") from None
    try:
        raw = zlib.decompress(packed, -zlib.MAX_WBITS)
    except zlib.error as exc:
        raise FeedError(f"invalid DEFLATE data in .z payload: {exc}") from None
    try:
        return orjson.loads(raw.removeprefix(b"\xef\xbb\xbf"))
    except orjson.JSONDecodeError as exc:
        raise FeedError(f"inflated .z payload is not JSON: {exc}") from None


def parse_clock(text: str) -> float:
    """Archive clock 'HH:MM:SS.mmm' -> seconds since the start of the stream."""
    m = _CLOCK.match(text)
    if m is None:
        raise FeedError(f"invalid session clock {text!r} (expected HH:MM:SS.mmm)")
    h, mi, s, frac = m.groups()
    micros = int((frac or "0").ljust(6, "0"))
    return int(h) * 3600 + int(mi) * 60 + int(s) + micros / 1e6


def parse_utc(text: str) -> datetime:
    """'2023-05-26T15:31:41.0341139Z' -> aware UTC datetime (fraction cut to microseconds)."""
    m = _UTC.match(text.strip()) if isinstance(text, str) else None
    if m is None:
        raise FeedError(f"invalid UTC timestamp {text!r}")
    y, mo, d, h, mi, s, frac = m.groups()
    try:
        return datetime(
            int(y), int(mo), int(d), int(h), int(mi), int(s),
            int((frac or "0")[:6].ljust(6, "0")), tzinfo=UTC,
        )  # fmt: skip
    except ValueError as exc:
        raise FeedError(f"invalid UTC timestamp {text!r}: {exc}") from None


def parse_duration(text: Any) -> int | None:
    """A lap or sector time ('1:27.736', '27.926', '') -> integer microseconds; '' -> None.

    Integers keep FastF1's exact equality checks (sector sums against lap times) exact.
    """
    if not isinstance(text, str) or not text.strip():
        return None
    parts = text.strip().split(":")
    try:
        seconds = parts[-1]
        whole, _, frac = seconds.partition(".")
        micros = int(whole) * 1_000_000 + int((frac or "0")[:6].ljust(6, "0"))
        if len(parts) >= 2:
            micros += int(parts[-2]) * 60_000_000
        if len(parts) == 3:
            micros += int(parts[0]) * 3_600_000_000
    except ValueError:
        return None
    return micros
