"""A past race's events through the worker's per-session rules (``strategy.live_state``), as
the worker applies them, without a broker."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from schemas import LapEvent, SessionEvent, StintEvent, TrackStatusEvent
from strategy.live_state import CarState, SessionState, apply_lap


def follow(
    events: Iterable[Any], session_key: str, lap: int
) -> tuple[SessionState, dict[str, CarState]]:
    """The session and its cars once every car has completed ``lap``."""
    session = SessionState.new(session_key)
    cars: dict[str, CarState] = {}
    for e in events:
        if isinstance(e, SessionEvent):
            session.apply_session(e)
        elif isinstance(e, TrackStatusEvent):
            session.apply_track_status(e)
        elif isinstance(e, StintEvent | LapEvent):
            car = cars.setdefault(e.driver, CarState.new(e.driver))
            if isinstance(e, StintEvent):
                car.apply_stint(e)
            elif e.lap_number <= lap:
                apply_lap(session, car, e)
    return session, cars
