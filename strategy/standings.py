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

import re
from dataclasses import dataclass
from typing import Any

from schemas.live import StandingRow
from schemas.race import CarStatus
from strategy.compounds import DRY

#: Statuses that take a car out of the race (it gets no plan, no chance, and sits at the
#: bottom of the tower). A retirement is final; a car stopped on track may go on (practice).
OUT = frozenset({CarStatus.STOPPED.value, CarStatus.RETIRED.value})
_LAPS_DOWN = re.compile(r"^\+?\s*(\d+)\s*L", re.IGNORECASE)


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


def laps_down(text: str | None) -> int | None:
    """Laps behind the leader in a gap as the feed shows it ('1 L', '+2 LAPS'); None else."""
    m = _LAPS_DOWN.match(text.strip()) if text else None
    return int(m.group(1)) if m else None


def apply_timing(row: StandingRow, e: Any) -> bool:
    """Merge a position / gap update (``TimingEvent``); False when it is older than what the
    row has (nothing changed). A lapped car's gap is in laps (``gap_text`` '+1 LAP')."""
    t = e.event_time.session_time
    changed = False
    if row.gaps_at is None or t >= row.gaps_at:
        row.gaps_at = t
        down = laps_down(e.gap_to_leader_text)
        row.laps_down = down or 0
        row.gap_to_leader = None if down else e.gap_to_leader
        row.gap_text = f"+{down} LAP{'S' if down > 1 else ''}" if down else e.gap_to_leader_text
        row.interval = e.interval
        row.interval_text = e.interval_text
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


def apply_status(row: StandingRow, e: Any) -> bool:
    """Merge a car's status (``SessionEvent`` of kind ``car_status``); False when nothing
    changed. A retirement is final: a later status does not bring the car back."""
    status = e.car_status.value if hasattr(e.car_status, "value") else e.car_status
    if status is None or row.status == CarStatus.RETIRED.value:
        return False
    if status == row.status:
        return False
    row.status = status
    out = status in OUT
    if out and not row.retired:
        row.out_lap = e.lap if e.lap is not None else row.lap_number
        row.out_reason = e.reason
    row.retired = out
    return True


def is_out(row: StandingRow) -> bool:
    """Whether the car is out of the race (stopped or retired)."""
    return bool(row.retired) or row.status in OUT


def tower(rows: list[StandingRow]) -> list[StandingRow]:
    """The timing tower: running cars by their timing position, then the cars out of the race
    (the latest to go out first). Gaps grow down the order: a car's gap is never shown below
    the car's ahead (updates of different cars arrive at different moments), and a lapped car
    shows its gap in laps."""
    running = sorted(
        (r for r in rows if not is_out(r)), key=lambda r: (r.position or 999, r.driver)
    )
    out = sorted((r for r in rows if is_out(r)), key=lambda r: (-(r.out_lap or 0), r.driver))
    shown: list[StandingRow] = []
    floor = 0.0
    for r in running:
        r = r.model_copy()
        if r.gap_to_leader is not None and not r.laps_down:
            if r.gap_to_leader < floor:
                r.gap_to_leader = floor
                r.interval = 0.0 if shown else r.interval
            floor = r.gap_to_leader
        shown.append(r)
    return shown + [r.model_copy() for r in out]
