"""The incremental parser against FastF1's own loader, on raw live-timing archive files.

FastF1 reads a whole stream at once (``fastf1._api``); the parser sees one message at a
time. Both read the same raw files here and must agree: laps lap by lap on the 2020 FP2
TimingData stream, stints driver by driver on the 2026 Australian GP, and the track
status, race control, weather, session status and lap count streams.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
import pytest
from fastf1 import _api

from producers.live import LiveParser, read_feed
from schemas import (
    LapEvent,
    RaceControlEvent,
    SessionEvent,
    StintEvent,
    TrackStatusEvent,
    WeatherEvent,
)
from tests.live.reference import fastf1_stream, parse_all


def _secs(value: object) -> float | None:
    return None if pd.isna(value) else round(value.total_seconds(), 3)  # type: ignore[union-attr]


def test_fp2_laps_match_fastf1_lap_by_lap(fp2_dir: Path, fp2_parsed) -> None:
    laps_ref, _stream = _api.timing_data(
        "unused", response=fastf1_stream(fp2_dir / "timing_data.raw")
    )
    reference = {
        (r.Driver, int(r.NumberOfLaps)): (
            _secs(r.LapTime),
            _secs(r.Sector1Time),
            _secs(r.Sector2Time),
            _secs(r.Sector3Time),
            _secs(r.PitInTime),
            _secs(r.PitOutTime),
        )
        for r in laps_ref.itertuples()
    }
    _parser, events = fp2_parsed
    laps = [e for e in events if isinstance(e, LapEvent)]
    ours = {
        (e.driver_number, e.lap_number): (
            e.lap_time,
            e.sector1,
            e.sector2,
            e.sector3,
            e.pit_in_time,
            e.pit_out_time,
        )
        for e in laps
    }
    assert len(laps) == len(ours), "a lap was emitted twice"
    assert len(reference) == 535
    assert sorted(ours) == sorted(reference)
    mismatches = {k: (reference[k], ours[k]) for k in reference if reference[k] != ours[k]}
    assert not mismatches
    # the flags follow the times, and laps carry the driver code from the driver list
    for e in laps:
        assert e.pit_in == (e.pit_in_time is not None)
        assert e.pit_out == (e.pit_out_time is not None)
    codes = {e.driver for e in laps}
    assert {"HAM", "VER", "BOT"} <= codes and not any(c.isdigit() for c in codes)


def test_fp2_laps_carry_replay_fields(fp2_parsed) -> None:
    parser, events = fp2_parsed
    laps = [e for e in events if isinstance(e, LapEvent)]
    assert parser.session_key == "2020-70th-anniversary-FP2"
    assert all(e.session_key == parser.session_key for e in events)
    with_tyres = [e for e in laps if e.compound]
    assert len(with_tyres) / len(laps) > 0.95
    known = {"SOFT", "MEDIUM", "HARD", "INTERMEDIATE", "WET"}
    assert {e.compound for e in with_tyres} <= known | {"UNKNOWN"}  # as the feed sends it
    assert sum(e.compound in known for e in with_tyres) / len(with_tyres) > 0.9
    assert all(e.stint and e.stint >= 1 and e.tyre_life and e.tyre_life >= 1 for e in with_tyres)
    assert sum(e.position is not None for e in laps) / len(laps) > 0.95
    assert all(e.track_status for e in laps if e.event_time.session_time > 15 * 60)
    # the VSC of lap ~01:31-01:33 shows in the track status of the laps around it
    assert any("6" in (e.track_status or "") for e in laps)
    # a driver's tyre age grows by one per lap within a stint
    ham = sorted((e for e in laps if e.driver == "HAM"), key=lambda e: e.lap_number)
    for a, b in itertools.pairwise(ham):
        if a.stint == b.stint and a.tyre_life and b.tyre_life:
            assert b.tyre_life == a.tyre_life + 1
    # in-laps end in the pits, out-laps start from them, every stint starts with an out-lap
    assert sum(e.pit_in for e in laps) > 50 and sum(e.pit_out for e in laps) > 50


def test_fp2_other_streams_match_fastf1(fp2_dir: Path, fp2_parsed) -> None:
    _parser, events = fp2_parsed
    ts = _api.track_status_data("unused", response=fastf1_stream(fp2_dir / "track_status.raw"))
    ours_ts = [e for e in events if isinstance(e, TrackStatusEvent)]
    assert [e.status for e in ours_ts] == ts["Status"]
    assert [e.event_time.session_time for e in ours_ts] == [t.total_seconds() for t in ts["Time"]]
    assert ours_ts[2].state == "vsc"

    rcm = _api.race_control_messages(
        "unused", response=fastf1_stream(fp2_dir / "race_control_messages.raw")
    )
    ours_rcm = [e for e in events if isinstance(e, RaceControlEvent)]
    assert [e.message for e in ours_rcm] == rcm["Message"]
    assert [e.category for e in ours_rcm] == rcm["Category"]
    assert [e.event_time.utc.replace(tzinfo=None) for e in ours_rcm] == rcm["Time"]

    weather = _api.weather_data("unused", response=fastf1_stream(fp2_dir / "weather_data.raw"))
    ours_w = [e for e in events if isinstance(e, WeatherEvent)]
    assert [e.air_temp for e in ours_w] == weather["AirTemp"]
    assert [e.track_temp for e in ours_w] == weather["TrackTemp"]
    assert [e.rainfall for e in ours_w] == weather["Rainfall"]

    status = _api.session_status_data(
        "unused", response=fastf1_stream(fp2_dir / "session_status.raw")
    )
    ours_s = [e.status for e in events if isinstance(e, SessionEvent) and e.kind == "status"]
    assert ours_s == status["Status"]
    info = [e for e in events if isinstance(e, SessionEvent) and e.kind == "info"]
    assert info[0].event_name == "70th Anniversary Grand Prix" and info[0].year == 2020
    assert len(info[-1].drivers or []) == 20


def test_lap_count_stream(raw_dir: Path) -> None:
    path = raw_dir / "fastf1_reference" / "2021_01_R" / "lap_count.raw"
    ref = _api.lap_count("unused", response=fastf1_stream(path))
    _parser, events = parse_all(path, "test-lapcount")
    ours = [e for e in events if isinstance(e, SessionEvent) and e.kind == "lap_count"]
    assert len(ours) == len(ref["Time"])
    # FastF1 leaves a field the delta does not name empty; the parser carries it forward
    current, total, expected = None, None, []
    for c, t in zip(ref["CurrentLap"], ref["TotalLaps"], strict=True):
        current, total = c if c is not None else current, t if t is not None else total
        expected.append((current, total))
    assert [(e.current_lap, e.total_laps) for e in ours] == expected
    assert [e.event_time.session_time for e in ours] == [t.total_seconds() for t in ref["Time"]]
    assert ours[0].total_laps == 57 and ours[-1].total_laps == 56
    assert ours[-1].current_lap == max(c for c in ref["CurrentLap"] if c is not None)


SESSIONS_2026 = ["Practice_1", "Practice_2", "Practice_3", "Qualifying", "Race"]


def _fastf1_stints(path: Path) -> dict[tuple[str, int], tuple[str, bool | None, int | None]]:
    """Final compound, new flag and start age of every stint, per FastF1's parser."""
    frame = _api.timing_app_data("unused", response=fastf1_stream(path))
    out: dict[tuple[str, int], dict[str, object]] = {}
    for r in frame.itertuples():
        d = out.setdefault((r.Driver, int(r.Stint) + 1), {})
        for col in ("Compound", "New", "StartLaps"):
            v = getattr(r, col)
            if v is not None and not (isinstance(v, float) and pd.isna(v)):
                d[col] = v
    return {
        k: (str(v["Compound"]), v.get("New"), v.get("StartLaps"))  # type: ignore[misc]
        for k, v in out.items()
        if "Compound" in v
    }


@pytest.mark.parametrize("name", SESSIONS_2026)
def test_2026_australia_stints_match_fastf1(aus2026_dir: Path, name: str) -> None:
    folder = next(p for p in aus2026_dir.iterdir() if p.name.endswith(name))
    reference = _fastf1_stints(folder / "TimingAppData.jsonStream")
    parser, events = parse_all(folder)
    numbers = {parser.code(n): n for n in parser.drivers}
    ours: dict[tuple[str, int], tuple[str, bool | None, int | None]] = {}
    for e in events:
        if isinstance(e, StintEvent):  # later events correct earlier ones
            ours[(numbers[e.driver], e.stint)] = (e.compound, e.new, e.tyre_age_at_start)
    assert parser.session_key.startswith("2026-australian-")
    assert reference, "FastF1 found no stints"
    drivers = sorted({d for d, _ in reference}, key=int)
    for drv in drivers:
        ref_d = {k: v for k, v in reference.items() if k[0] == drv}
        ours_d = {k: v for k, v in ours.items() if k[0] == drv}
        assert ours_d == ref_d, f"driver {drv} ({parser.code(drv)})"
    assert len(ours) == len(reference)


def test_2026_race_tyre_stint_series_agrees(aus2026_dir: Path) -> None:
    """TyreStintSeries alone (no TimingAppData) gives the same race stints."""
    race = aus2026_dir / "2026-03-08_Race"
    reference = _fastf1_stints(race / "TimingAppData.jsonStream")
    parser = LiveParser("test-tss")
    events = []
    for path in (race / "DriverList.jsonStream", race / "TyreStintSeries.jsonStream"):
        for line in read_feed(path):
            events.extend(parser.feed_line(line.text, line.topic))
    ours = {}
    for e in events:
        if isinstance(e, StintEvent):
            num = next(n for n in parser.drivers if parser.code(n) == e.driver)
            ours[(num, e.stint)] = (e.compound, e.new, e.tyre_age_at_start)
    assert ours == reference
    # the race's first stints are known before the start, with the grid's compounds
    first = [e for e in events if isinstance(e, StintEvent) and e.stint == 1]
    assert len({e.driver for e in first}) >= 20
