"""``pitwall tail`` as users run it, on a race ``simulate_live`` replayed into the real broker."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid

import pytest

from core.settings import Settings
from producers.kafka import EventProducer
from replay.fastf1_source import load_session
from schemas import EventTime, LapEvent, decode
from schemas.topics import ALL_TOPICS, LAPS
from tests.clients.conftest import Replayed, run_cli

LINE = re.compile(r"^\d+:\d\d:\d\d  (?P<driver>[A-Z]{3}) L(?P<lap>\d+) ")


@pytest.fixture(scope="module")
def all_laps(monaco: Replayed) -> list[str]:
    run = run_cli("tail", LAPS.name, "--session", monaco.session_key, "--from-beginning")
    assert run.returncode == 0, run.stderr
    return run.stdout.splitlines()


def test_from_beginning_shows_every_lap_once(
    stack: Settings, monaco: Replayed, all_laps: list[str]
) -> None:
    assert len(all_laps) == monaco.laps
    ver = [int(m["lap"]) for m in map(LINE.match, all_laps) if m and m["driver"] == "VER"]
    assert ver == list(range(1, 79))

    laps = load_session(2023, "Monaco", "R", stack).session.laps
    row = laps[(laps["Driver"] == "VER") & (laps["LapNumber"] == 12)].iloc[0]
    minutes, seconds = divmod(row["LapTime"].total_seconds(), 60)
    expected = (
        f"VER L12 {int(minutes)}:{seconds:06.3f} {row['Compound']}({int(row['TyreLife'])}) "
        f"P{int(row['Position'])}"
    )
    assert [line.split("  ", 1)[1] for line in all_laps if " VER L12 " in line] == [expected]


def test_last_lines_are_the_end_of_the_topic(monaco: Replayed, all_laps: list[str]) -> None:
    """Without --from-beginning: the last 10 (or -n) events, up to the true end."""
    run = run_cli("tail", LAPS.name, "--session", monaco.session_key)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == all_laps[-10:]
    run = run_cli("tail", LAPS.name, "-s", monaco.session_key, "-n", "3")
    assert run.stdout.splitlines() == all_laps[-3:]


def test_without_session_every_line_names_its_session(monaco: Replayed) -> None:
    run = run_cli("tail", LAPS.name, "-n", "5")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 5
    assert all(re.match(r"^\d+:\d\d:\d\d  \S+-R\S*  [A-Z]{3} L\d+ ", x) for x in lines), lines


def test_json_is_one_event_per_line(monaco: Replayed) -> None:
    run = run_cli("tail", LAPS.name, "-s", monaco.session_key, "--from-beginning", "--json")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == monaco.laps
    events = [decode(LAPS.name, line) for line in lines]
    assert {e.session_key for e in events} == {monaco.session_key}
    assert json.loads(lines[0])["type"] == "lap"


@pytest.mark.parametrize(
    "topic",
    ["f1.session.v1", "f1.timing.v1", "f1.stints.v1", "f1.track_status.v1", "f1.race_control.v1"],
)
def test_each_race_topic_reads(monaco: Replayed, topic: str) -> None:
    run = run_cli("tail", topic, "-s", monaco.session_key, "-n", "5")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 5 and not any(x.startswith("!") for x in lines), lines


def test_unknown_topic_lists_the_topics(stack: Settings) -> None:
    run = run_cli("tail", "f1.lap.v1")
    assert run.returncode == 2
    out = " ".join((run.stdout + run.stderr).split())
    assert "unknown topic 'f1.lap.v1'" in out
    assert all(t.name in out for t in ALL_TOPICS)
    assert "Traceback" not in out


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize(("stop", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_follow_shows_new_events_and_undecodable_ones(
    stack: Settings, stop: signal.Signals, code: int
) -> None:
    key = f"2023-monaco-R-follow{uuid.uuid4().hex[:6]}"
    tail = subprocess.Popen(
        [sys.executable, "-m", "pitwall.cli", "tail", LAPS.name, "-s", key, "--follow"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200", "PYTHONFAULTHANDLER": "1"},
        # started as a script's background job is: with SIGINT ignored, which Ctrl-C overrides
        preexec_fn=_ignore_sigint,
    )
    try:
        time.sleep(3)  # a new event is shown whether it comes before or after tail starts
        producer = EventProducer(stack.require_kafka)
        for lap in (1, 2):
            producer.publish(
                LapEvent(
                    session_key=key,
                    event_time=EventTime(session_time=3600 + 90 * lap),
                    driver="VER",
                    lap_number=lap,
                    lap_time=95.5 + lap,
                    compound="SOFT",
                    tyre_life=lap + 2,
                    position=1,
                )
            )
        producer.publish_raw(LAPS.name, f"{key}:VER", b"{not json")
        producer.flush()
        producer.close()
        time.sleep(3)
    finally:
        tail.send_signal(stop)
        try:
            out, err = tail.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            tail.send_signal(signal.SIGABRT)  # the fault handler prints where it is stuck
            out, err = tail.communicate()
            pytest.fail(f"tail did not stop within 30 s of {stop.name}:\n{err[-4000:]}")
    assert tail.returncode == code, err
    lines = out.splitlines()
    assert lines[:2] == [
        "1:01:30  VER L1 1:36.500 SOFT(3) P1",
        "1:03:00  VER L2 1:37.500 SOFT(4) P1",
    ]
    assert re.match(r"! undecodable message at partition \d+ offset \d+: invalid JSON", lines[2])
    assert len(lines) == 3 and "Traceback" not in err


def test_unreachable_broker_is_one_clear_line(stack: Settings) -> None:
    from pitwall.embedded.base import free_port

    bootstrap = f"127.0.0.1:{free_port()}"
    run = run_cli("tail", LAPS.name, env={**os.environ, "KAFKA_BOOTSTRAP": bootstrap})
    assert run.returncode == 1
    assert run.stderr.startswith(f"Error: could not reach the broker at {bootstrap}")
    assert run.stdout == "" and len(run.stderr.splitlines()) == 1
