"""Reading recorded live-timing feeds: archive files and SignalR recordings, line by line.

Four line formats reach the parser, and :func:`frame_line` tells them apart:

* F1's static archive (``*.jsonStream``, UTF-8 with BOM, CRLF): ``HH:MM:SS.mmm{json}`` or
  ``HH:MM:SS.mmm"base64"`` for ``.z`` topics; the topic is the file's name.
* FastF1's ``SignalRClient`` recordings: Python-literal lists ``['Topic', {...}, 'utc']``
  (the subscribe response as ``['Topic', '<json text>', '']``).
* Raw SignalR (classic) websocket logs: ``{"M": [{"H": "Streaming", "M": "feed", "A":
  [topic, data, utc]}]}`` and the subscribe response ``{"R": {topic: data, ...}}``.
* pitwall's own recordings: JSON lists ``["Topic", {...}, "utc"]``.

A directory of archive files (one session) is merged into one stream ordered by clock.
"""

from __future__ import annotations

import ast
import contextlib
import heapq
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from producers.live.decode import FeedError, parse_clock, parse_utc

_ARCHIVE_LINE = re.compile(r"^(\d{2}:\d{2}:\d{2}\.\d{1,6})(.*)$", re.DOTALL)
_LINE_CLOCK = re.compile(r"^\ufeff?(\d{2}:\d{2}:\d{2}\.\d{1,6})")
#: A message's UTC timestamp as the last item of its list (``[topic, data, utc]``).
_LAST_UTC = re.compile(
    r"""["'](\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z?)["']\s*\]\s*[\]}\s]*$"""
)

#: FastF1's reference file names (``fastf1/testing/reference_data``) -> feed topics.
FASTF1_FILE_TOPICS: dict[str, str] = {
    "timing_data": "TimingData",
    "timing_app_data": "TimingAppData",
    "timing_stats": "TimingStats",
    "track_status": "TrackStatus",
    "race_control_messages": "RaceControlMessages",
    "session_status": "SessionStatus",
    "session_info": "SessionInfo",
    "session_data": "SessionData",
    "weather_data": "WeatherData",
    "driver_list": "DriverList",
    "lap_count": "LapCount",
    "car_data": "CarData.z",
    "position": "Position.z",
    "tyre_stint_series": "TyreStintSeries",
    "extrapolated_clock": "ExtrapolatedClock",
    "heartbeat": "Heartbeat",
}
#: Topics whose payload is a ``.z`` (base64 DEFLATE) string.
Z_TOPICS = frozenset({"CarData.z", "Position.z"})


@dataclass(slots=True)
class RawMessage:
    """One feed message: its topic, its (still compressed, for ``.z``) data and its time."""

    topic: str
    data: Any
    session_time: float | None = None
    utc: datetime | None = None


@dataclass(slots=True)
class FeedLine:
    """A line of a recording as read, with the topic its file implies (archive files)."""

    text: str
    topic: str | None = None


def line_time(text: str) -> float | None:
    """A line's feed time in seconds without framing it, for pacing a recording: its archive
    clock, or the epoch seconds of its message's UTC timestamp; None when it has neither."""
    m = _LINE_CLOCK.match(text)
    if m is not None:
        return parse_clock(m.group(1))
    m = _LAST_UTC.search(text[-80:])
    if m is None:
        return None
    try:
        return parse_utc(m.group(1)).timestamp()
    except FeedError:
        return None


def topic_for_file(path: Path) -> str | None:
    """The feed topic an archive file holds, from its name (None if not an archive file)."""
    name = path.name
    for suffix in (".jsonStream", ".json"):
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    if path.suffix == ".raw":
        return FASTF1_FILE_TOPICS.get(path.stem)
    return None


def _literal(text: str) -> Any:
    """JSON first (fast); FastF1's Python-literal recordings second."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError) as exc:
        raise FeedError(f"not JSON nor a Python literal: {type(exc).__name__}: {exc}") from None


def _payload(topic: str, data: Any) -> Any:
    """Validate a message payload; JSON text (subscribe response in FastF1 files) is loaded."""
    if topic in Z_TOPICS:
        if not isinstance(data, str):
            raise FeedError(f"{topic}: expected a base64 string, got {type(data).__name__}")
        return data
    if isinstance(data, str):
        try:
            data = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise FeedError(f"{topic}: payload is a string, not a JSON object") from None
    if not isinstance(data, dict | list):
        raise FeedError(f"{topic}: payload is {type(data).__name__}, not an object")
    return data


def _utc(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    return parse_utc(value)


def message_from_list(item: Any) -> RawMessage:
    """``[topic, data, utc]`` (the utc may be missing) -> message."""
    if not isinstance(item, list | tuple) or not item or not isinstance(item[0], str):
        raise FeedError("expected a list [topic, data, utc]")
    if len(item) < 2:
        raise FeedError(f"{item[0]}: message without data")
    topic = item[0]
    data = _payload(topic, item[1])
    utc = _utc(item[2]) if len(item) > 2 else None
    return RawMessage(topic, data, None, utc)


def frame_line(text: str, topic: str | None = None) -> list[RawMessage]:
    """Split one recorded line into feed messages (none for keep-alives); raise FeedError."""
    line = text.lstrip("\ufeff").strip()
    if not line:
        return []
    m = _ARCHIVE_LINE.match(line)
    if m is not None:
        if topic is None:
            raise FeedError("archive line without a topic (file name not recognised)")
        clock, body = m.groups()
        body = body.strip()
        if not body:
            raise FeedError(f"{topic}: archive line without data")
        data = body.strip('"') if topic in Z_TOPICS else _literal(body)
        return [RawMessage(topic, _payload(topic, data), parse_clock(clock), None)]
    if line[0] == "[":
        return [message_from_list(_literal(line))]
    if line[0] == "{":
        obj = _literal(line)
        if not isinstance(obj, dict):
            raise FeedError("expected a JSON object")
        return _from_signalr(obj, topic)
    raise FeedError("not a feed message (expected '[', '{' or an HH:MM:SS.mmm clock)")


#: Order of the subscribe response's topics: the clock and session identity first, so that
#: every event carries the session key and driver codes; telemetry last.
SUBSCRIBE_ORDER = {"Heartbeat": 0, "SessionInfo": 1, "DriverList": 2, "SessionStatus": 3}


def _from_signalr(obj: dict[str, Any], topic: str | None) -> list[RawMessage]:
    """A classic SignalR frame: feed messages in ``M``, the subscribe response in ``R``."""
    if not obj:
        return []  # SignalR keep-alive
    if "M" not in obj and "R" not in obj and "C" not in obj and "I" not in obj:
        if topic is None:
            raise FeedError("JSON object without SignalR fields (M, R) and no topic")
        return [RawMessage(topic, _payload(topic, obj), 0.0, None)]  # e.g. SessionInfo.json
    out: list[RawMessage] = []
    result = obj.get("R")
    if isinstance(result, dict):
        beat = result.get("Heartbeat")
        utc = _utc(beat.get("Utc")) if isinstance(beat, dict) and beat.get("Utc") else None
        for name in sorted(result, key=lambda n: SUBSCRIBE_ORDER.get(n, 5 if n in Z_TOPICS else 4)):
            out.append(RawMessage(name, _payload(name, result[name]), None, utc))
    for inner in obj.get("M") or []:
        if not isinstance(inner, dict) or str(inner.get("H", "")).lower() != "streaming":
            continue
        args = inner.get("A")
        out.append(message_from_list(args))
    return out


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FeedError(f"{path}: not UTF-8 text: {exc}") from None


def _archive_lines(path: Path, topic: str) -> Iterator[tuple[float, int, FeedLine]]:
    """(clock, order, line) of one archive file; lines without a clock keep the last one."""
    text = _read_text(path)
    if path.name.endswith(".json"):
        yield 0.0, 0, FeedLine(" ".join(text.split("\n")), topic)
        return
    last = 0.0
    for n, raw in enumerate(text.splitlines()):
        if not raw.strip():
            continue
        m = _ARCHIVE_LINE.match(raw.lstrip("\ufeff"))
        if m is not None:
            with contextlib.suppress(FeedError):
                last = parse_clock(m.group(1))
        yield last, n, FeedLine(raw, topic)


#: Topics that describe the session: first among lines with the same clock.
_FIRST = {"SessionInfo": 0, "DriverList": 1, "SessionStatus": 2}


def read_feed(path: Path) -> Iterator[FeedLine]:
    """Every line of a recording, or of a session directory's archive files in clock order."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file or directory: {path}")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and topic_for_file(p))
        if not files:
            raise FeedError(f"{path}: no archive files (*.jsonStream, *.json, FastF1 *.raw)")
        streams = []
        for p in files:
            t = topic_for_file(p) or ""
            prio = _FIRST.get(t, 9)
            streams.append(((c, prio, n, line) for c, n, line in _archive_lines(p, t)))
        for _c, _p, _n, line in heapq.merge(*streams, key=lambda x: (x[0], x[1], x[2])):
            yield line
        return
    topic = topic_for_file(path)
    if topic is not None:
        for _c, _n, line in _archive_lines(path, topic):
            yield line
        return
    for raw in _read_text(path).splitlines():
        if raw.strip():
            yield FeedLine(raw, None)
