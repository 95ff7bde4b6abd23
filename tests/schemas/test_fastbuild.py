"""Telemetry built without validation (``schemas.fastbuild``) is the validated model's event.

The same values through ``TelemetryEvent(...)`` and through ``telemetry_event(...)`` give
equal events, with the same fields in the same order (the live publisher encodes an event's
``__dict__`` as it is) and the same bytes on the wire; and the real samples of both paths
that build them (a replayed parquet export, the live parser on a recorded ``.z`` feed)
validate to themselves.
"""

from __future__ import annotations

import contextlib
import itertools
from datetime import UTC, datetime

import pytest

from core.settings import get_settings
from producers.live import FeedError, LiveParser, read_feed
from replay.timeline import build_timeline
from schemas import Envelope, EventTime, TelemetryEvent, encode
from schemas.fastbuild import telemetry_event

SETTINGS = get_settings()
WHEN = EventTime(session_time=3725.125, utc=datetime(2023, 5, 26, 12, 2, 5, 125000, tzinfo=UTC))
PRODUCED = datetime(2023, 5, 26, 12, 2, 5, 200000, tzinfo=UTC)
#: Every field of a sample beyond the envelope and the driver, with a value of its type.
ALL_VALUES = {
    "speed": 287.0, "rpm": 11234.0, "gear": 7, "throttle": 100.0, "brake": False, "drs": 12,
    "distance": 1523.25, "x": -1234.5, "y": 5678.0, "z": 12.0,
}  # fmt: skip


def assert_same(fast: TelemetryEvent, validated: TelemetryEvent) -> None:
    assert fast == validated
    assert list(fast.__dict__) == list(validated.__dict__)
    assert encode(fast) == encode(validated)


def test_every_field_of_the_model_is_built() -> None:
    fields = set(TelemetryEvent.model_fields) - set(Envelope.model_fields) - {"driver"}
    assert fields == set(ALL_VALUES), "telemetry_event must take every field of the model"


@pytest.mark.parametrize(
    "values",
    [
        ALL_VALUES,
        {k: ALL_VALUES[k] for k in ("rpm", "speed", "gear", "throttle", "brake", "drs")},
        {k: ALL_VALUES[k] for k in ("x", "y", "z")},
        {},
    ],
    ids=["every field", "car data", "position", "none"],
)
def test_same_event_as_the_validated_model(values: dict) -> None:
    fast = telemetry_event("2023-monaco-FP2", WHEN, "VER", produced_at=PRODUCED, **values)
    validated = TelemetryEvent(
        session_key="2023-monaco-FP2", event_time=WHEN, driver="VER", produced_at=PRODUCED, **values
    )
    assert_same(fast, validated)
    stamped = telemetry_event("2023-monaco-FP2", WHEN, "VER", **values)
    assert stamped.produced_at.tzinfo is not None  # stamped now when not given


def real_samples() -> list[TelemetryEvent]:
    """Samples of both builders: a replayed parquet export and a recorded live feed."""
    replayed = build_timeline(2025, "Australia", settings=SETTINGS, telemetry_every=200)
    out = [e for e in replayed.events if isinstance(e, TelemetryEvent)][:5000]
    feed = SETTINGS.data_dir / "telemetry/livetiming_clips/raw/2023_monaco_fp2_signalr_log.txt"
    parser = LiveParser("2023-monaco-FP2")
    for line in itertools.islice(read_feed(feed), 400):
        with contextlib.suppress(FeedError):  # the log's handshake lines frame no message
            out += [e for e in parser.feed_line(line.text, line.topic) if e.type == "telemetry"]
    return out


def test_real_samples_validate_to_themselves() -> None:
    samples = real_samples()
    assert sum(s.x is not None for s in samples) > 1000  # positions (both sources)
    assert sum(s.rpm is not None and s.x is None for s in samples) > 1000  # live car data
    for sample in samples:
        assert_same(sample, TelemetryEvent.model_validate(sample.model_dump()))
