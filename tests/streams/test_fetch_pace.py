"""The worker's fetch pace: its consumer's wait goes long once idle and short on the next event."""

from __future__ import annotations

import orjson

from core.pacing import IdleClock
from schemas.topics import LAPS, SESSION
from streams.fetch_pace import FetchPace


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Fetcher:
    _fetch_max_wait_ms = 10


class AioConsumer:
    """What FetchPace touches of an aiokafka consumer: its wait, and its fetcher's once started."""

    def __init__(self, started: bool) -> None:
        self._fetch_max_wait_ms = 10
        if started:
            self._fetcher = Fetcher()


def _status(status: str) -> bytes:
    return orjson.dumps({"kind": "status", "status": status, "session_key": "s"})


def test_idle_then_busy_again() -> None:
    t = Clock()
    pace = FetchPace(10, 500, IdleClock(5.0, 60.0, t))
    started, later = AioConsumer(True), AioConsumer(False)
    pace.consumers += [started, later]
    pace.event(SESSION.name, b"s", _status("Started"))
    t.now = 30.0  # between laps of a live race: no change
    pace.tick()
    assert pace.wait_ms == 10 and started._fetcher._fetch_max_wait_ms == 10
    pace.event(LAPS.name, b"s:VER", b"{}")
    pace.event(SESSION.name, b"s", _status("Finished"))
    t.now = 36.0  # the flag, then 5 s of quiet
    pace.tick()
    assert pace.wait_ms == 500 and pace.idle_spells == 1
    assert started._fetcher._fetch_max_wait_ms == 500 and later._fetch_max_wait_ms == 500
    pace.tick()
    assert pace.idle_spells == 1  # set once
    pace.event(SESSION.name, b"s2", _status("Started"))  # the next session
    assert started._fetcher._fetch_max_wait_ms == 10 and later._fetch_max_wait_ms == 10


def test_a_stopped_replay_goes_idle_after_the_live_wait() -> None:
    t = Clock()
    pace = FetchPace(10, 500, IdleClock(5.0, 60.0, t))
    pace.event(LAPS.name, b"s:VER", b"{}")
    t.now = 59.0
    pace.tick()
    assert pace.wait_ms == 10
    t.now = 60.0
    pace.tick()
    assert pace.wait_ms == 500
