"""The idle clock: when a consumer may fetch at its idle pace."""

from __future__ import annotations

from core.pacing import IdleClock


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_quiet_without_a_live_session_after_the_short_wait() -> None:
    t = Clock()
    clock = IdleClock(5.0, 60.0, t)
    t.now = 4.9
    assert not clock.idle()
    t.now = 5.0
    assert clock.idle()
    clock.event()  # an event of no session resets the quiet time
    assert not clock.idle()


def test_a_live_session_holds_the_pace_until_its_flag() -> None:
    t = Clock()
    clock = IdleClock(5.0, 60.0, t)
    clock.event("2025-australia-R", "Started")
    t.now = 30.0  # a lull between laps: still live
    assert not clock.idle()
    t.now = 60.0  # quiet for the live wait: a replay stopped half-way says no flag
    assert clock.idle()
    clock.event("2025-australia-R")
    t.now = 70.0
    clock.event("2025-australia-R", "Finished")
    t.now = 74.0
    assert not clock.idle()
    t.now = 75.0  # over: the short wait
    assert clock.idle()


def test_laps_after_the_flag_do_not_make_the_session_live_again() -> None:
    t = Clock()
    clock = IdleClock(5.0, 60.0, t)
    clock.event("s", "Finished")
    t.now = 1.0
    clock.event("s")  # a car still finishing its last lap
    t.now = 6.0
    assert clock.idle()
    assert not clock.any_live()


def test_one_live_session_among_finished_ones_holds_the_pace() -> None:
    t = Clock()
    clock = IdleClock(5.0, 60.0, t)
    clock.event("a")
    clock.event("b", "Ends")
    t.now = 10.0
    assert clock.any_live() and not clock.idle()
    t.now = 61.0  # "a" quiet for the live wait: forgotten
    assert not clock.any_live() and clock.idle()
    assert clock.over == {}  # the book of finished sessions is pruned too
