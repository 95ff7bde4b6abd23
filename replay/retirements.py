"""Retirements in a past race, read from its laps as the live feed would have flagged them.

The FastF1 cache has no retirement flags (the live feed's ``Retired``/``Stopped``), so a car
counts as retired when its laps end before the race does: every finisher, lapped or not,
crosses the line after the winner has taken the flag. It goes out when the feed would have
shown it: at the race-control message that names it stopping, or, without one, a few seconds
after its last crossing if that lap ended in the pits (it retired in the garage), else one of
its laps after it (it stopped out on the circuit and never came round again). Its last
crossing is its last lap row with a lap time or a pit entry: the timing keeps a row for the
lap a car never finished, with a session time long after it stopped, which is no crossing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pandas as pd

from schemas import CarStatus, EventTime, RaceControlEvent, SessionEvent

GARAGE_S = 20.0  # from the line in the pit lane to the garage
_STOPPED = re.compile(r"\b(STOPPED|STOPPING|RETIRED|RETIRING|PARKED)\b")


def _seconds(value: Any) -> float | None:
    if value is None or pd.isna(value):
        return None
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)


def car_status_events(
    laps: pd.DataFrame,
    messages: Sequence[RaceControlEvent],
    session_key: str,
    at: Callable[[float], EventTime],
) -> Iterable[SessionEvent]:
    """A ``retired`` car-status event for every car whose laps end before the flag."""
    done = laps.dropna(subset=["Time", "LapNumber"])
    if done.empty:
        return
    last = _last_crossings(done)
    finish = float(last["Time"].map(_seconds).max())  # the winner's flag, at the latest
    leader_laps = int(last["LapNumber"].max())
    flag = done[done["LapNumber"] == leader_laps]["Time"].map(_seconds).min()
    finish = min(finish, float(flag)) if flag is not None and not pd.isna(flag) else finish
    for driver, lap in last.iterrows():
        end = _seconds(lap["Time"])
        if end is None or end >= finish:
            continue
        number = str(lap.get("DriverNumber", ""))
        when, reason = _message(messages, driver, number, end)
        if when is None:
            if not pd.isna(lap.get("PitInTime")):
                when, reason = end + GARAGE_S, "retired in the pits"
            else:
                pace = done[done["Driver"] == driver]["LapTime"].map(_seconds).dropna()
                when = end + (float(pace.median()) if len(pace) else 90.0)
                reason = "stopped on track"
        yield SessionEvent(
            session_key=session_key,
            event_time=at(min(when, finish)),
            kind="car_status",
            driver=str(driver),
            car_status=CarStatus.RETIRED,
            lap=int(lap["LapNumber"]),
            reason=reason,
        )


def _last_crossings(laps: pd.DataFrame) -> pd.DataFrame:
    """Each car's last real crossing of the line: its last row (not the last value of each
    column) that has a lap time or a pit entry."""
    real = laps[laps["LapTime"].notna() | laps["PitInTime"].notna() | (laps["LapNumber"] == 1)]
    return real.sort_values("LapNumber").groupby("Driver").tail(1).set_index("Driver")


def _message(
    messages: Sequence[RaceControlEvent], driver: str, number: str, after: float
) -> tuple[float | None, str | None]:
    """The first race-control message after ``after`` that has the car stopping."""
    names = (f"({driver})", f"CAR {number} ") if number else (f"({driver})",)
    for m in messages:
        t = m.event_time.session_time
        if t < after or not _STOPPED.search(m.message):
            continue
        if any(name in m.message for name in names):
            return t, m.message
    return None, None
