"""The Faust worker on the real embedded broker, fed real races by the replay path.

The worker runs as users run it (``python -m pitwall.cli worker``, a subprocess); races are
published with ``publish_timeline`` under session keys of their own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.settings import Settings, get_settings
from producers.kafka import EventProducer
from replay.simulate import publish_timeline
from replay.timeline import build_timeline
from schemas import decode
from schemas.topics import DLQ, FEATURES, LAPS, STRATEGY
from tests.kafka_utils import end_offsets, read_since

SETTINGS = get_settings()


class Worker:
    def __init__(self, log: Path) -> None:
        self.log = log
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 90) -> None:
        fh = open(self.log, "ab")  # noqa: SIM115 - the child keeps it
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pitwall.cli", "worker", "--log-level", "INFO"],
            stdout=fh,
            stderr=subprocess.STDOUT,
            env=dict(os.environ),
            start_new_session=True,
        )
        seen = self.log.read_bytes().count(b"[^Worker]: Ready")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log.read_bytes().count(b"[^Worker]: Ready") > seen:
                return
            assert self.proc.poll() is None, self.log.read_text(errors="replace")[-3000:]
            time.sleep(0.2)
        raise AssertionError("worker not ready: " + self.log.read_text(errors="replace")[-3000:])

    def kill(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope="module")
def worker(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    w = Worker(tmp_path_factory.mktemp("worker") / "worker.log")
    w.start()
    yield w
    w.stop()


def _session(topic: str, offsets: dict[int, int], key: str, until=None, idle: float = 8.0):
    msgs = read_since(topic, offsets, until=until, idle_timeout=idle, max_wait=150)
    return [e for e in (decode(topic, m.value()) for m in msgs) if e.session_key == key]


def test_full_race_gives_strategy_every_leader_lap(stack: Settings, worker: Worker) -> None:
    timeline = build_timeline(2023, "Monaco", settings=SETTINGS).with_session_key("w-2023-monaco-R")
    total = timeline.total_laps
    before = {t: end_offsets(t) for t in (FEATURES.name, STRATEGY.name)}
    publish_timeline(timeline, EventProducer(stack.require_kafka), speed=None)

    def done(msgs) -> bool:
        evs = [decode(STRATEGY.name, m.value()) for m in msgs[-50:]]
        return any(e.session_key == "w-2023-monaco-R" and e.lap == total for e in evs)

    _session(STRATEGY.name, before[STRATEGY.name], "w-2023-monaco-R", until=done)
    features = _session(FEATURES.name, before[FEATURES.name], "w-2023-monaco-R", idle=3)
    # All read again once the worker is idle: the updates after the first final-lap one too.
    strategy = _session(STRATEGY.name, before[STRATEGY.name], "w-2023-monaco-R", idle=3)
    laps = [e for e in timeline.events if e.type == "lap"]
    assert len(features) == len(laps) == 1515
    assert {(f.driver, f.lap_number) for f in features} == {(e.driver, e.lap_number) for e in laps}
    # Promise: at least one update per leader lap (each lap when the worker keeps up).
    assert {e.lap for e in strategy} >= set(range(1, total + 1))
    finishers = {e.driver for e in laps if e.lap_number >= total - 1}
    for e in strategy:
        assert abs(sum(r.win_prob for r in e.recommendations) - 1) < 1e-6
        podium = min(3, len(e.recommendations))
        assert abs(sum(r.podium_prob for r in e.recommendations) - podium) < 1e-6
        assert e.source_produced_at is not None and e.compute_ms is not None
    last = [e for e in strategy if e.lap == total][-1]
    assert finishers <= {r.driver for r in last.recommendations}
    assert last.recommendations[0].driver == "VER"


def test_malformed_event_goes_to_dlq_and_next_event_is_processed(
    stack: Settings, worker: Worker
) -> None:
    before = {t: end_offsets(t) for t in (DLQ.name, FEATURES.name)}
    producer = EventProducer(stack.require_kafka)
    garbage = b'{"type": "lap", "session_key": "dlq-test", "lap_number": "not a number"'
    producer.publish_raw(LAPS.name, "dlq-test:XXX", garbage)
    good = next(
        e for e in build_timeline(2023, "Monaco", settings=SETTINGS).events if e.type == "lap"
    )
    producer.publish(good.model_copy(update={"session_key": "dlq-test"}))
    producer.flush()
    dlq = read_since(DLQ.name, before[DLQ.name], until=lambda m: len(m) >= 1, max_wait=60)
    entries = [decode(DLQ.name, m.value()) for m in dlq]
    import base64

    mine = [e for e in entries if base64.b64decode(e.raw_b64) == garbage]
    assert mine and mine[0].source == LAPS.name and mine[0].reason
    feats = _session(
        FEATURES.name, before[FEATURES.name], "dlq-test", until=lambda m: len(m) >= 1, idle=3
    )
    assert any(f.driver == good.driver and f.lap_number == good.lap_number for f in feats)


def test_killed_worker_recovers_and_misses_no_lap(stack: Settings, worker: Worker) -> None:
    key = "kill-2023-bahrain-R"
    timeline = build_timeline(2023, "Bahrain", settings=SETTINGS).with_session_key(key)
    before = {t: end_offsets(t) for t in (FEATURES.name, STRATEGY.name)}
    speed = 600.0
    replay = threading.Thread(
        target=publish_timeline,
        args=(timeline, EventProducer(stack.require_kafka)),
        kwargs={"speed": speed},
    )
    first = timeline.events[0].event_time.session_time
    kill_after = (timeline.lap_start_time(20) - first) / speed  # about lap 20 of 57
    replay.start()  # ~17 s of wall time, lap 1 after ~6 s
    time.sleep(kill_after)
    worker.kill()
    killed_at = time.time()
    worker.start()
    replay.join()
    total = timeline.total_laps

    def done(msgs) -> bool:
        evs = [decode(STRATEGY.name, m.value()) for m in msgs[-30:]]
        return any(e.session_key == key and e.lap == total for e in evs)

    _session(STRATEGY.name, before[STRATEGY.name], key, until=done)
    features = _session(FEATURES.name, before[FEATURES.name], key, idle=3)
    # After a restart the partitions catch up unevenly, so the first final-lap update may
    # predate some cars' last laps: read them all once the worker is idle, check the last.
    strategy = _session(STRATEGY.name, before[STRATEGY.name], key, idle=3)
    laps = {(e.driver, e.lap_number) for e in timeline.events if e.type == "lap"}
    missing = sorted(laps - {(f.driver, f.lap_number) for f in features})
    assert not missing, f"{len(missing)} laps without features: {missing[:40]}"  # dups allowed
    # The kill fell mid-race: the first worker had published features, the second the rest.
    assert any(f.produced_at.timestamp() < killed_at for f in features)
    assert any(f.produced_at.timestamp() > killed_at for f in features)
    after = [e for e in strategy if e.produced_at.timestamp() > killed_at]
    assert after and max(e.lap for e in after) == total
    assert {e.lap for e in strategy} >= set(range(1, total + 1))
    # Recovered state: stops made before the kill are still counted at the end.
    last = [e for e in strategy if e.lap == total][-1]
    stops = defaultdict(int)
    for e in timeline.events:
        if e.type == "lap" and e.pit_out:
            stops[e.driver] += 1
    for r in last.recommendations:
        assert r.stops == stops[r.driver], r.driver


def test_workers_in_one_group_hand_sessions_over(
    stack: Settings, worker: Worker, tmp_path: Path
) -> None:
    """A second worker process joins the group mid-race and the first is then killed: its
    sessions move on with no lap missing from f1.features.v1 and no strategy lap skipped."""
    key = "group-2023-bahrain-R"
    timeline = build_timeline(2023, "Bahrain", settings=SETTINGS).with_session_key(key)
    before = {t: end_offsets(t) for t in (FEATURES.name, STRATEGY.name)}
    speed = 500.0
    replay = threading.Thread(
        target=publish_timeline,
        args=(timeline, EventProducer(stack.require_kafka)),
        kwargs={"speed": speed},
    )
    first = timeline.events[0].event_time.session_time
    at = {lap: (timeline.lap_start_time(lap) - first) / speed for lap in (12, 30)}
    second = Worker(tmp_path / "second.log")
    replay.start()
    try:
        time.sleep(at[12])
        second.start()  # joins the group mid-race: a rebalance
        time.sleep(max(at[30] - at[12], 0.0))
        worker.kill()  # the first dies: whatever it held moves to the second
        replay.join()
        total = timeline.total_laps

        def done(msgs) -> bool:
            evs = [decode(STRATEGY.name, m.value()) for m in msgs[-30:]]
            return any(e.session_key == key and e.lap == total for e in evs)

        _session(STRATEGY.name, before[STRATEGY.name], key, until=done)
        features = _session(FEATURES.name, before[FEATURES.name], key, idle=3)
        strategy = _session(STRATEGY.name, before[STRATEGY.name], key, idle=3)
    finally:
        second.stop()
        worker.start()  # for the tests after this one
    laps = {(e.driver, e.lap_number) for e in timeline.events if e.type == "lap"}
    missing = sorted(laps - {(f.driver, f.lap_number) for f in features})
    assert not missing, f"{len(missing)} laps without features: {missing[:40]}"
    assert {e.lap for e in strategy} >= set(range(1, total + 1))


def test_worker_without_broker_is_a_clear_error(tmp_path: Path) -> None:
    env = {**os.environ, "KAFKA_BOOTSTRAP": "", "PITWALL_STATE_DIR": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-m", "pitwall.cli", "worker"], capture_output=True, text=True, env=env
    )
    assert run.returncode == 2 and "KAFKA_BOOTSTRAP" in run.stdout + run.stderr
