"""The fast codec decodes exactly what the pydantic models decode, or defers to them.

Real events of two races (every raw topic, telemetry included), features built from them by
the worker's own code, and a DLQ event; then thousands of malformed variants of them (fields
dropped, retyped, renested; bad JSON). For each input, either both codecs accept it with the
same values (and the same table row), or both raise the same :class:`DecodeError`.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import msgspec
import orjson
import pytest
from psycopg.types.json import Jsonb

from consumers.db_schema import SCHEMA, row_values
from core.settings import get_settings
from replay.timeline import build_timeline
from schemas import DecodeError, DlqEvent, Envelope, EventTime, decode, encode, utcnow
from schemas.fastcodec import DECODERS, decode_fast
from schemas.topics import BY_TYPE
from strategy.live_state import CarState, SessionState, apply_lap, features_of

SETTINGS = get_settings()

FINER_THAN_MICROSECONDS = re.compile(rb":[0-9]{2}:[0-9]{2}\.[0-9]{7}")
PER_TOPIC = 10  # real events per topic that are mutated (about 45k variants)
ODD_VALUES: list[Any] = [
    None, 0, 1, -1, 1.0, 1.5, -0.0, 2**70, 1e308, True, False, "", "1", "1.5", "x", "true",
    "SOFT", [], [1], {}, {"session_time": 1.0},
    "2023-05-28T11:58:02Z", "2023-05-28 11:58:02", "2023-05-28t11:58:02z",
    "2023-05-28T11:58:02.1234567+01:00", "2023-05-28T11:58:02.123+0100", "2023-05-28",
    "2023-05-28T24:00:00Z", "2023-05-28T11:58:60Z", 1685275082, 1685275082.5,
]  # fmt: skip


@pytest.fixture(scope="module")
def real_events() -> dict[str, list[Envelope]]:
    by_topic: dict[str, list[Envelope]] = defaultdict(list)
    monaco = build_timeline(2023, "Monaco", settings=SETTINGS)
    australia = build_timeline(2025, "Australia", settings=SETTINGS, telemetry_every=200)
    for e in itertools.chain(monaco.events, australia.events):
        by_topic[BY_TYPE[e.type].name].append(e)
    session = SessionState.new(monaco.session_key)
    cars: dict[str, CarState] = {}
    for lap in by_topic["f1.laps.v1"][:400]:
        car = cars.setdefault(lap.driver, CarState.new(lap.driver))
        if apply_lap(session, car, lap):
            by_topic["f1.features.v1"].append(features_of(session, car, lap, cars))
    bad = encode(by_topic["f1.laps.v1"][0])[:-7]
    by_topic["f1.dlq.v1"].append(
        DlqEvent(
            session_key=monaco.session_key,
            event_time=EventTime(session_time=0.0),
            source="f1.laps.v1",
            reason="invalid JSON",
            raw_b64=base64.b64encode(bad).decode(),
            partition=2,
            offset=17,
        )
    )
    return by_topic


def _fields(value: Any, finer: bool = False) -> Any:
    """Every field of a model or struct, nested ones included, for comparison. With
    ``finer`` (the input has times finer than a microsecond) times are truncated to the
    millisecond: msgspec rounds them to the microsecond where pydantic truncates."""
    if isinstance(value, Envelope | EventTime):
        return {k: _fields(getattr(value, k), finer) for k in type(value).model_fields}
    if isinstance(value, msgspec.Struct):
        return {k: _fields(getattr(value, k), finer) for k in value.__struct_fields__}
    if finer and isinstance(value, datetime):
        return value.replace(microsecond=value.microsecond // 1000 * 1000)
    return value


def _row(topic: str, event: Any, finer: bool) -> list[Any] | str:
    """The table row the sink writes for ``event``, jsonb values as their JSON text (or the
    error that sends it to the DLQ)."""
    try:
        row = row_values(SCHEMA[topic], event)
    except (OverflowError, ValueError) as exc:
        return repr(exc)
    return [v.dumps(v.obj) if isinstance(v, Jsonb) else _fields(v, finer) for v in row]


def _outcome(fn: Any, topic: str, raw: bytes) -> tuple[str, Any]:
    try:
        return "ok", fn(topic, raw)
    except DecodeError as exc:
        return "error", exc.reason


def _assert_same(topic: str, raw: bytes) -> bool:
    """Both codecs agree on ``raw``; True when the fast one decoded it itself."""
    slow, fast = _outcome(decode, topic, raw), _outcome(decode_fast, topic, raw)
    assert slow[0] == fast[0], (raw, slow, fast)
    if slow[0] == "error":
        assert fast[1] == slow[1], raw
        return False
    finer = bool(FINER_THAN_MICROSECONDS.search(raw))
    assert _fields(fast[1], finer) == _fields(slow[1], finer), raw
    assert _row(topic, fast[1], finer) == _row(topic, slow[1], finer), raw
    return isinstance(fast[1], msgspec.Struct)


def _variants(doc: dict[str, Any]) -> list[dict[str, Any]]:
    out = [{**doc, "unknown_field": 1}]
    for key in doc:
        if key != "produced_at":  # defaults to now: compared in its own test
            out.append({k: v for k, v in doc.items() if k != key})
        out += [{**doc, key: v} for v in ODD_VALUES]
    for key in doc["event_time"]:
        inner = doc["event_time"]
        out.append({**doc, "event_time": {k: v for k, v in inner.items() if k != key}})
        out += [{**doc, "event_time": {**inner, key: v}} for v in ODD_VALUES]
    return out


def test_the_bulk_topics_decode_fast() -> None:
    for topic in ("f1.timing.v1", "f1.laps.v1", "f1.telemetry.v1", "f1.weather.v1"):
        assert topic in DECODERS


def test_real_events_decode_to_the_same_values(real_events: dict[str, list[Envelope]]) -> None:
    assert set(DECODERS) <= set(real_events), set(DECODERS) - set(real_events)
    for topic, events in real_events.items():
        fast = sum(_assert_same(topic, encode(e)) for e in events)
        if topic in DECODERS:
            assert fast == len(events), topic  # real events never need pydantic's coercions
        else:
            assert fast == 0, topic


def test_malformed_events_get_the_same_verdict(real_events: dict[str, list[Envelope]]) -> None:
    seen = {"fast": 0, "deferred ok": 0, "rejected": 0}
    for topic in DECODERS:
        for event in real_events[topic][:PER_TOPIC]:
            doc = orjson.loads(encode(event))
            for variant in _variants(doc):
                raw = json.dumps(variant).encode()  # (orjson refuses 2**70)
                if _assert_same(topic, raw):
                    seen["fast"] += 1
                elif _outcome(decode, topic, raw)[0] == "ok":
                    seen["deferred ok"] += 1
                else:
                    seen["rejected"] += 1
        raw = encode(real_events[topic][0])
        for broken in (raw[:-1], b"[" + raw + b"]", b"null", b"", raw.replace(b":", b"=", 1)):
            assert not _assert_same(topic, broken)
    # Each kind of outcome is exercised: the test would notice a codec that always defers.
    assert min(seen.values()) > 100, seen


@pytest.mark.parametrize(
    "utc",
    [
        "2023-05-28T11:58:02.1234567Z",
        "2023-05-28 11:58:02.9999996+01:00",
        "2023-05-28t11:58:02.12345678z",
        "2023-05-28T11\\u003a58:02.1234567Z",
    ],
)
def test_times_finer_than_microseconds_differ_by_rounding_only(
    real_events: dict[str, list[Envelope]], utc: str
) -> None:
    """The one documented difference: msgspec rounds such times, pydantic truncates them."""
    doc = orjson.loads(encode(real_events["f1.timing.v1"][0]))
    raw = orjson.dumps({**doc, "event_time": {"session_time": 1.0, "utc": "UTC"}})
    raw = raw.replace(b'"UTC"', b'"' + utc.encode() + b'"')
    fast, slow = decode_fast("f1.timing.v1", raw), decode("f1.timing.v1", raw)
    assert isinstance(fast, msgspec.Struct)
    assert timedelta(0) <= fast.event_time.utc - slow.event_time.utc <= timedelta(microseconds=1)


def test_a_missing_produced_at_defaults_to_now(real_events: dict[str, list[Envelope]]) -> None:
    doc = orjson.loads(encode(real_events["f1.timing.v1"][0]))
    del doc["produced_at"]
    before = utcnow()
    event = decode_fast("f1.timing.v1", orjson.dumps(doc))
    assert isinstance(event, msgspec.Struct)
    assert before <= event.produced_at <= utcnow()
