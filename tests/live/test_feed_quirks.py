"""The feed's quirks, one at a time: BOM and CRLF archive lines, ``.z`` payloads, deltas
that update lists by index and delete keys, late and out-of-order lap data, messages
without timestamps, and telemetry encoded exactly as ``schemas.encode`` does."""

from __future__ import annotations

import base64
import zlib
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from producers.live import FeedError, LiveParser, frame_line, inflate, read_feed
from producers.live.decode import parse_clock, parse_duration, parse_utc
from producers.live.laps import DriverLaps
from producers.live.publisher import encode_telemetry
from producers.live.state import merge_delta
from schemas import LapEvent, StintEvent, TelemetryEvent, encode


def test_archive_lines_with_bom_and_crlf(aus2026_dir: Path) -> None:
    path = aus2026_dir / "2026-03-08_Race" / "TimingAppData.jsonStream"
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw  # the archive's own format
    first = raw.split(b"\r\n")[0]
    (msg,) = frame_line(first.decode("utf-8"), "TimingAppData")  # BOM still in the text
    assert msg.session_time == pytest.approx(11.038)
    assert set(msg.data["Lines"]) >= {"1", "44", "81"}
    lines = list(read_feed(path))
    assert len(lines) == 915 and not any(line.text.endswith("\r") for line in lines)


def test_z_payload_round_trip_and_errors() -> None:
    sample = {"Entries": [{"Utc": "2023-05-26T15:31:41.0341139Z", "Cars": {}}]}
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    payload = base64.b64encode(packer.compress(orjson.dumps(sample)) + packer.flush()).decode()
    assert inflate(payload) == sample
    assert inflate(f'"{payload}"') == sample  # archive lines quote the payload
    with pytest.raises(FeedError, match="base64"):
        inflate(payload[:-3])
    with pytest.raises(FeedError, match="DEFLATE"):
        inflate(base64.b64encode(b"not deflate").decode())


def test_clock_utc_and_duration_parsing() -> None:
    assert parse_clock("01:02:03.456") == pytest.approx(3723.456)
    assert parse_utc("2023-05-26T15:31:41.0341139Z") == datetime(
        2023, 5, 26, 15, 31, 41, 34113, tzinfo=UTC
    )
    assert parse_duration("1:27.736") == 87_736_000
    assert parse_duration("") is None
    for bad in ("25:61", "2021-0341.297Z"):
        with pytest.raises(FeedError):
            parse_utc(bad)


def test_merge_delta_lists_by_index_and_deleted() -> None:
    state: dict = {"Lines": {"1": {"Stints": []}}, "Messages": [{"Message": "a"}]}
    merge_delta(state, {"Lines": {"1": {"Stints": {"0": {"Compound": "SOFT", "New": "true"}}}}})
    merge_delta(
        state, {"Lines": {"1": {"Stints": {"0": {"TotalLaps": 3}, "1": {"Compound": "HARD"}}}}}
    )
    assert state["Lines"]["1"]["Stints"] == [
        {"Compound": "SOFT", "New": "true", "TotalLaps": 3},
        {"Compound": "HARD"},
    ]
    merge_delta(state, {"Messages": {"1": {"Message": "b"}}, "_kf": True})
    assert [m["Message"] for m in state["Messages"]] == ["a", "b"]
    merge_delta(state, {"Lines": {"_deleted": ["1"]}, "Messages": {"_deleted": [0]}})
    assert state["Lines"] == {} and state["Messages"] == [{"Message": "b"}]
    delta = {"Lines": {"2": {"Position": "1"}}}
    merge_delta(state, delta)
    state["Lines"]["2"]["Position"] = "5"
    assert delta["Lines"]["2"]["Position"] == "1"  # the message itself is never mutated


def _lap(t: float, **values: object) -> tuple[int, dict]:
    return round(t * 1e6), values


def test_laps_late_values_and_out_of_order_lap_counts() -> None:
    laps = DriverLaps("44")
    released = []
    for t, delta in [
        _lap(0.0, InPit=False),
        _lap(90.0, NumberOfLaps=1),  # the out-lap ends
        _lap(120.0, Sectors={"0": {"Value": "30.000"}}),
        _lap(150.0, Sectors={"1": {"Value": "30.000"}}),
        _lap(180.0, NumberOfLaps=2),  # lap 2 ends; its sector 3 and time come late...
        _lap(181.0, NumberOfLaps=1, Sectors={"2": {"Value": "30.500"}}),  # ...out of order
        _lap(182.0, NumberOfLaps=2, Sectors={"2": {"Value": "30.000"}}),
        _lap(182.5, LastLapTime={"Value": "1:30.000"}),
    ]:
        released.extend(laps.update(t, delta))
    released.extend(laps.finish())
    assert [lap.number for lap in released] == [1]  # the empty out-lap is dropped, renumbered
    (lap,) = released
    assert lap.lap_time == 90_000_000 and lap.sectors == [30_000_000] * 3
    assert lap.end == 180_000_000


def test_messages_without_timestamp_or_with_missing_fields() -> None:
    parser = LiveParser("test-quirks")
    parser.feed_line(
        "['Heartbeat', {'Utc': '2021-03-28T14:52:34.2188616Z'}, '2021-03-28T14:52:34Z']"
    )
    events = parser.feed_line(
        "['TimingAppData', {'Lines': {'33': {'Stints': [{'Compound': 'MEDIUM', 'New': 'true'}]}}}]"
    )
    (stint,) = events
    assert isinstance(stint, StintEvent) and stint.compound == "MEDIUM"
    assert stint.new is True and stint.tyre_age_at_start is None  # StartLaps not sent yet
    assert stint.event_time.session_time == 0.0  # no timestamp: the last known feed time
    events = parser.feed_line(
        "['TimingAppData', {'Lines': {'33': {'Stints': {'0': {'StartLaps': 2}}}}}, "
        "'2021-03-28T14:52:44Z']"
    )
    assert [e.tyre_age_at_start for e in events] == [2]  # a correction of the same stint
    assert events[0].event_time.session_time == 10.0
    assert parser.feed_line("['TimingData', {'Lines': {'33': {}}}, '2021-03-28T14:52:45Z']") == []
    with pytest.raises(FeedError, match="without data"):
        parser.feed_line("['TimingData']")


def test_telemetry_fast_encoding_is_schemas_encode(clips_dir: Path) -> None:
    log = clips_dir / "raw" / "2023_monaco_fp2_signalr_log.txt"
    parser = LiveParser("test-encode")
    events: list = []
    for line in list(read_feed(log))[3:80]:
        events.extend(parser.feed_line(line.text, line.topic))
    telemetry = [e for e in events if isinstance(e, TelemetryEvent)]
    assert len(telemetry) > 1000
    assert all(encode_telemetry(e) == encode(e) for e in telemetry)
    assert TelemetryEvent.model_validate_json(encode_telemetry(telemetry[0])) == telemetry[0]
    assert not [e for e in events if isinstance(e, LapEvent) and e.lap_number < 1]
