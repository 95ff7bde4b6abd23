"""The race standings rules: how laps, stints and timing updates merge into a car's row.

One home for them: the stream worker (its race state) and the Redis writer (the live tower)
both apply events to a :class:`schemas.live.StandingRow` through these functions. Laps, stints
and timing come on different topics, so their relative order is not guaranteed:

- the newest stint wins: a stint event older than the row's stint changes nothing, and an
  in-lap that arrives after the next stint's event leaves the new tyres in place;
- a stint event that arrives after laps of the same stint fills only what they left unknown
  (the laps know the tyres' age);
- position and gaps come from whichever lap or timing event has the latest session time;
- a lap older than the row's last changes nothing; the same lap again merges the same values
  (it is not *fresh*: what counts laps, such as the worker's pace, skips it).

Events are read by attribute, so the pydantic models and the sinks' msgspec structs both work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas.live import StandingRow
from strategy.data import DRY


def tyre_kind(compound: str) -> str:
    """'dry', 'INTERMEDIATE' or 'WET': a change of kind means the track changed."""
    return "dry" if compound in DRY else compound


@dataclass(frozen=True)
class TyreChange:
    """What merging an event did to the row's tyres."""

    new_stint: bool = False  # moved to a newer stint
    kind_changed: bool = False  # between dry tyres, intermediates and wets


@dataclass(frozen=True)
class LapMerge:
    """The outcome of :func:`apply_lap`."""

    applied: bool  # False: older than the row's last lap, nothing changed
    fresh: bool = False  # a lap the row did not have yet
    current_stint: bool = False  # the lap belongs to the row's (new) current stint
    tyres: TyreChange = TyreChange()


def _move_to_stint(row: StandingRow, stint: int | None) -> bool | None:
    """Move the row to ``stint`` if it is not older than the row's. None: unknown or older
    (nothing changes); else whether it is a newer stint than the row had."""
    if stint is None or (row.stint is not None and stint < row.stint):
        return None
    newer = row.stint is not None and stint > row.stint
    row.stint = stint
    row.stops = max(stint - 1, 0)
    return newer


def _fit(row: StandingRow, compound: str | None) -> bool:
    """Fit ``compound``; True when it changes the kind of tyre the car is on."""
    if not compound:
        return False
    changed = bool(row.compound) and tyre_kind(row.compound) != tyre_kind(compound)
    row.compound = compound
    return changed


def _newer_placing(row: StandingRow, session_time: float) -> bool:
    """True (and remembered) when an event at ``session_time`` may set the position."""
    if row.placed_at is not None and session_time < row.placed_at:
        return False
    row.placed_at = session_time
    return True


def apply_lap(row: StandingRow, e: Any) -> LapMerge:
    """Merge a completed lap (``LapEvent``) into ``row``."""
    if row.lap_number is not None and e.lap_number < row.lap_number:
        return LapMerge(applied=False)
    fresh = row.lap_number is None or e.lap_number > row.lap_number
    moved = _move_to_stint(row, e.stint)
    current = moved is not None or e.stint is None
    kind_changed = False
    if current:
        kind_changed = _fit(row, e.compound)
        if e.tyre_life is not None:
            row.tyre_age = e.tyre_life
    row.lap_number = e.lap_number
    row.last_lap_time = e.lap_time
    row.pit_in, row.pit_out = e.pit_in, e.pit_out
    row.team = e.team or row.team
    row.driver_number = e.driver_number or row.driver_number
    if e.position is not None and _newer_placing(row, e.event_time.session_time):
        row.position = e.position
    return LapMerge(True, fresh, current, TyreChange(bool(moved), kind_changed))


def apply_stint(row: StandingRow, e: Any) -> TyreChange | None:
    """Merge a tyre change (``StintEvent``); None when it changes nothing."""
    if e.stint is not None and e.stint == row.stint:
        # Its laps came first (another topic), and they know the tyres' age.
        changed = False
        if row.compound is None and e.compound:
            _fit(row, e.compound)
            changed = True
        if row.tyre_age is None and e.tyre_age_at_start is not None:
            row.tyre_age = e.tyre_age_at_start
            changed = True
        return TyreChange() if changed else None
    moved = _move_to_stint(row, e.stint)
    if moved is None:
        return None  # an older stint, re-read
    kind_changed = _fit(row, e.compound)
    if e.tyre_age_at_start is not None:
        row.tyre_age = e.tyre_age_at_start
    return TyreChange(moved, kind_changed)


def apply_timing(row: StandingRow, e: Any) -> bool:
    """Merge a position / gap update (``TimingEvent``); False when it is older than what the
    row has (nothing changed)."""
    t = e.event_time.session_time
    changed = False
    if row.gaps_at is None or t >= row.gaps_at:
        row.gaps_at = t
        row.gap_to_leader = e.gap_to_leader
        row.interval = e.interval
        changed = True
    if e.position is not None and _newer_placing(row, t):
        row.position = e.position
        changed = True
    return changed


def gap_at_line(crossings: dict[str, float], lap: int, session_time: float) -> float:
    """Seconds behind the first car to complete ``lap``, from the session times at which cars
    crossed the line (``crossings``: lap as text -> earliest time, updated here)."""
    key = str(lap)
    lead = crossings.setdefault(key, session_time)
    if session_time < lead:
        crossings[key] = lead = session_time
    return round(session_time - lead, 3)
