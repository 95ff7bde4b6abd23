"""simulate_live end to end: real 2023 races into the embedded broker, read back plainly.

Each race is replayed at max speed by the ``simulate_live`` command (as users run it) under a
session key of its own; a plain confluent-kafka consumer then checks that every lap FastF1
has arrived once, in per-driver order, and that every event validates against its schema.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict

import pytest

from core.settings import Settings
from producers.kafka import EventProducer
from replay.clock import PacingClock
from replay.fastf1_source import load_session
from replay.simulate import publish_timeline
from replay.timeline import build_timeline
from schemas import SessionEvent, decode
from schemas.topics import ALL_TOPICS, LAPS
from tests.kafka_utils import end_offsets, read_since

RACES = [
    ("Monaco", "2023-monaco-R"),
    ("Bahrain", "2023-bahrain-R"),
    ("Singapore", "2023-singapore-R"),
]


def simulate_live(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pitwall.commands.replay", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        timeout=300,
    )


def all_offsets() -> dict[str, dict[int, int]]:
    return {t.name: end_offsets(t.name) for t in ALL_TOPICS}


@pytest.mark.parametrize(("event", "natural_key"), RACES)
def test_replay_reads_back_every_lap_in_order(
    stack: Settings, event: str, natural_key: str
) -> None:
    key = f"test-{natural_key}"
    before = all_offsets()
    run = simulate_live("2023", event, "--speed", "max", "--session-key", key)
    assert run.returncode == 0, run.stdout + run.stderr

    fastf1_laps = load_session(2023, event, "R", stack).session.laps
    expected = len(fastf1_laps)
    out = run.stdout + run.stderr
    assert f"{LAPS.name}" in out and f"{expected:,} laps" in out

    counts: dict[str, int] = {}
    per_driver: dict[str, list[int]] = defaultdict(list)
    for topic in ALL_TOPICS:
        after = end_offsets(topic.name)
        grew = any(after.get(p, 0) > o for p, o in before[topic.name].items())
        # A broker holding much data can be slow to answer a first fetch, and to answer the
        # next one: on a topic that grew, wait longer before taking silence for the end.
        first_wait, idle = (30.0, 6.0) if grew else (0.0, 1.5)
        for msg in read_since(
            topic.name, before[topic.name], idle_timeout=idle, first_wait=first_wait
        ):
            event_obj = decode(topic.name, msg.value())  # raises if it does not validate
            if event_obj.session_key != key:
                continue
            assert msg.key().decode() == event_obj.key()
            counts[topic.name] = counts.get(topic.name, 0) + 1
            if topic is LAPS:
                per_driver[event_obj.driver].append(event_obj.lap_number)

    assert counts[LAPS.name] == expected
    assert counts["f1.timing.v1"] > 10_000
    assert counts["f1.session.v1"] > 0 and counts["f1.track_status.v1"] > 0
    assert set(per_driver) == set(fastf1_laps["Driver"].unique())
    for driver, laps in per_driver.items():
        assert laps == sorted(laps), f"{driver} laps out of order"
        assert len(laps) == len(set(laps)), f"{driver} has a duplicated lap"
        ff1 = sorted(int(n) for n in fastf1_laps.pick_drivers(driver)["LapNumber"])
        assert laps == ff1


def test_unknown_race_lists_events_and_publishes_nothing(stack: Settings) -> None:
    before = all_offsets()
    run = simulate_live("2023", "Atlantis", "--speed", "max")
    assert run.returncode == 2
    assert "no 2023 event matches 'Atlantis'" in run.stdout + run.stderr
    assert "Monaco Grand Prix" in run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr + run.stderr

    run = simulate_live("2023", "Monaco", "--session", "SQ", "--speed", "max")
    assert run.returncode == 2
    assert (
        "has no Sprint Qualifying" in run.stdout + run.stderr and "Race" in run.stdout + run.stderr
    )
    assert all_offsets() == before


def test_corrupt_cache_file_is_named_and_nothing_published(stack: Settings, tmp_path) -> None:
    """A truncated FastF1 pickle in a copy of the data directory stops the replay up front."""
    import shutil

    data = tmp_path / "data"
    src_race = (
        next((stack.data_dir / "fastf1_cache/cache/2023").glob("*Monaco*")) / "2023-05-28_Race"
    )
    dst_race = data / "fastf1_cache/cache/2023" / src_race.parent.name / src_race.name
    shutil.copytree(src_race, dst_race)
    (data / "fastf1_schedule").symlink_to(stack.data_dir / "fastf1_schedule")
    bad = dst_race / "timing_app_data.ff1pkl"
    bad.write_bytes(bad.read_bytes()[:1000])

    before = all_offsets()
    run = simulate_live(
        "2023",
        "Monaco",
        "--speed",
        "max",
        env={"PITWALL_DATA_DIR": str(data), "PITWALL_STATE_DIR": str(tmp_path / "state")},
    )
    assert run.returncode == 2, run.stdout + run.stderr
    out = " ".join((run.stdout + run.stderr).split())
    assert "timing_app_data.ff1pkl" in out and "unreadable" in out
    assert "Nothing was published" in out
    assert "Traceback" not in run.stdout + run.stderr + run.stderr
    assert all_offsets() == before


def test_bad_speed_and_from_lap_are_clear_errors(stack: Settings) -> None:
    run = simulate_live("2023", "Monaco", "--speed", "fast")
    assert run.returncode == 2 and "is not a speed" in run.stdout + run.stderr + run.stderr
    before = all_offsets()
    run = simulate_live("2023", "Monaco", "--speed", "max", "--from-lap", "200")
    assert run.returncode == 2 and "no lap 199" in run.stdout + run.stderr
    assert all_offsets() == before


def test_race_with_car_telemetry(stack: Settings) -> None:
    """2025 Australia (parquet export with telemetry): laps and thinned telemetry read back."""
    import pandas as pd

    key = "test-2025-australian-R"
    before = {t: end_offsets(t) for t in ("f1.laps.v1", "f1.telemetry.v1")}
    run = simulate_live(
        "2025", "Australia", "--speed", "max", "--session-key", key, "--telemetry-every", "50"
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "thinned to 1 in 50" in run.stdout + run.stderr

    folder = stack.data_dir / "telemetry/aus2025"
    laps = pd.read_parquet(folder / "session/laps_Race.parquet")
    expected_tel = sum(
        -(-len(pd.read_parquet(p, columns=["Speed"])) // 50)
        for p in (folder / "telemetry/Race").glob("*.parquet")
    )
    got: dict[str, list] = {"f1.laps.v1": [], "f1.telemetry.v1": []}
    for topic in got:
        for msg in read_since(topic, before[topic], idle_timeout=1.5):
            ev = decode(topic, msg.value())
            if ev.session_key == key:
                got[topic].append(ev)
    assert len(got["f1.laps.v1"]) == len(laps)
    tel = got["f1.telemetry.v1"]
    assert len(tel) == expected_tel
    assert len({e.driver for e in tel}) == 20
    assert all(e.speed is not None and e.x is not None for e in tel)


class RecordingClock(PacingClock):
    """Paces nothing; remembers which session times the replay waited for."""

    def __init__(self) -> None:
        super().__init__(0.0, None)
        self.waited: list[float] = []

    def wait_until(self, session_time: float) -> None:
        self.waited.append(session_time)


def test_from_lap_1_starts_pacing_at_lights_out(stack: Settings) -> None:
    """The demo's default: the hour of pre-race feed goes at once, pacing starts at the start."""
    timeline = build_timeline(2023, "Monaco", "R", settings=stack)
    start = timeline.lap_start_time(1)
    status = [e for e in timeline.events if isinstance(e, SessionEvent) and e.status]
    assert start == next(e.event_time.session_time for e in status if e.status == "Started")
    assert start > 3000  # 2023 Monaco: the feed starts about an hour before the race
    before = sum(1 for e in timeline.events if e.event_time.session_time < start)
    assert before > 20  # the grid, race control, track status: sent, not waited for

    clock = RecordingClock()
    key = "test-2023-monaco-R-from-lap-1"
    summary = publish_timeline(
        timeline, EventProducer(stack.require_kafka), speed=20.0, from_lap=1,
        session_key=key, clock=clock, progress=True,
    )  # fmt: skip
    assert summary.total == len(timeline.events)
    assert summary.max_lag < 1.0  # what was sent at once is not "behind schedule"
    assert clock.origin == start and clock.speed == 20.0
    assert clock.waited[0] == start and len(clock.waited) == len(timeline.events) - before
    # without --from-lap the replay waits for every event from the feed's first
    clock = RecordingClock()
    publish_timeline(
        timeline, EventProducer(stack.require_kafka), speed=20.0,
        session_key=key, clock=clock,
    )  # fmt: skip
    assert clock.origin == timeline.events[0].event_time.session_time
    assert len(clock.waited) == len(timeline.events)
