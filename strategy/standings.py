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
  (it is not *fresh*: what counts laps, such as the worker's pace, skips it);
- a car's gap is its own, never another car's: where the timing feed's gap is older than the
  car's last crossing of the line, the gap at the line replaces it (the timing topic may run
  behind the laps, and the classification at the flag is the order and gaps at the line);
  a gap older than the gaps around it is marked old (:func:`mark_old_gaps`), not changed.

Events are read by attribute, so the pydantic models and the sinks' msgspec structs both work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from schemas.live import StandingRow
from schemas.race import CarStatus
from strategy.compounds import DRY

#: Statuses that take a car out of the race (it gets no plan, no chance, and sits at the
#: bottom of the tower). A retirement is final; a car stopped on track may go on (practice).
OUT = frozenset({CarStatus.STOPPED.value, CarStatus.RETIRED.value})
_LAPS_DOWN = re.compile(r"^\+?\s*(\d+)\s*L", re.IGNORECASE)
#: Session seconds after which a gap no newer event has confirmed is shown as old: the feed
#: gives every running car a new gap every 3-7 s (2023 Bahrain: p99 6.8 s).
OLD_GAP_S = 15.0
#: The sector and lap marks of timing screens: the fastest of the session so far, or of the car.
OVERALL, PERSONAL = "overall", "personal"


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


@dataclass
class RaceLine:
    """What the timing line has seen of a session: when the first and the latest car
    completed each lap, the fastest lap and sectors so far, and the newest session time of an
    event. Plain JSON (``to_dict`` / ``from_dict``) so that a writer can keep it beside the
    rows it merges with it."""

    #: lap (as text) -> session time at which the first car completed it
    crossings: dict[str, float] = field(default_factory=dict)
    #: lap (as text) -> session time at which the latest car so far completed it
    latest: dict[str, float] = field(default_factory=dict)
    #: 'lap', 's1', 's2', 's3' -> the session's fastest so far
    bests: dict[str, float] = field(default_factory=dict)
    now: float = 0.0

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RaceLine:
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        return {
            "crossings": self.crossings, "latest": self.latest, "bests": self.bests,
            "now": self.now,
        }  # fmt: skip

    def seen(self, session_time: float) -> None:
        """An event at ``session_time`` arrived."""
        self.now = max(self.now, session_time)

    def leader_laps(self, session_time: float) -> int:
        """Laps the leader had completed at ``session_time``."""
        return max((int(k) for k, t in self.crossings.items() if t <= session_time), default=0)

    def cross(self, lap: int, session_time: float) -> tuple[float, int, float | None]:
        """A car completes ``lap`` at ``session_time``: its gap to the first car to complete
        the lap, the laps it is down on the leader then, and its interval to the car that
        completed the lap before it (None for the first)."""
        gap = gap_at_line(self.crossings, lap, session_time)
        key = str(lap)
        before = self.latest.get(key)
        interval = round(session_time - before, 3) if before is not None and gap > 0 else None
        if before is None or session_time > before:
            self.latest[key] = session_time
        self.seen(session_time)
        return gap, max(self.leader_laps(session_time) - lap, 0), interval

    def mark(self, key: str, value: float | None, personal: float | None) -> str | None:
        """How timing screens colour ``value`` (a lap or sector time) against the session's
        best so far and the car's (``personal``); remembers a new session best."""
        if value is None:
            return None
        best = self.bests.get(key)
        if best is None or value <= best:
            self.bests[key] = value
            return OVERALL
        return PERSONAL if personal is None or value <= personal else None


def _line_gap(row: StandingRow, e: Any, line: RaceLine) -> None:
    """The lap's crossing of the line: its gap there, and the gap shown when the timing
    feed's is older than the crossing."""
    t = e.event_time.session_time
    gap, down, interval = line.cross(e.lap_number, t)
    row.lap_at, row.line_gap = t, gap
    if row.gaps_at is not None and row.gaps_at > t:
        return  # the feed has a newer gap
    row.gaps_at = t
    row.laps_down = down
    row.gap_to_leader = None if down else gap
    row.gap_text = _laps_text(down) if down else None
    row.interval, row.interval_text = interval, None


def _lap_marks(row: StandingRow, e: Any, line: RaceLine) -> None:
    """Last lap and sectors against the session's and the car's bests (a deleted lap sets
    no best)."""
    sectors = [e.sector1, e.sector2, e.sector3]
    row.sectors = sectors
    if e.deleted:
        row.sector_marks, row.lap_mark = [None, None, None], None
        return
    bests = list(row.best_sectors or [None, None, None])
    marks = []
    for k, value in enumerate(sectors):
        marks.append(line.mark(f"s{k + 1}", value, bests[k]))
        if value is not None and (bests[k] is None or value < bests[k]):
            bests[k] = value
    row.sector_marks, row.best_sectors = marks, bests
    row.lap_mark = line.mark("lap", e.lap_time, row.best_lap_time)
    if e.lap_time is not None and (row.best_lap_time is None or e.lap_time < row.best_lap_time):
        row.best_lap_time = e.lap_time


def apply_lap(row: StandingRow, e: Any, line: RaceLine | None = None) -> LapMerge:
    """Merge a completed lap (``LapEvent``) into ``row``; with the session's ``line``, also
    its gap at the line and its lap and sector marks."""
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
    if line is not None and fresh:
        _line_gap(row, e, line)
        _lap_marks(row, e, line)
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


def _laps_text(down: int) -> str:
    return f"+{down} LAP{'S' if down > 1 else ''}"


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
        row.gap_text = _laps_text(down) if down else e.gap_to_leader_text
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
    (the latest to go out first). Each car shows its own gap, never another's (a lapped car's
    in laps); :func:`mark_old_gaps` says which are old."""
    running = sorted(
        (r for r in rows if not is_out(r)), key=lambda r: (r.position or 999, r.driver)
    )
    out = sorted((r for r in rows if is_out(r)), key=lambda r: (-(r.out_lap or 0), r.driver))
    return [r.model_copy() for r in running + out]


def _finished(row: StandingRow, line: RaceLine, laps_total: int | None) -> bool:
    """Whether the car has taken the chequered flag (its gap is final)."""
    flag = line.crossings.get(str(laps_total)) if laps_total else None
    return flag is not None and row.lap_at is not None and row.lap_at >= flag


def mark_old_gaps(
    rows: list[StandingRow], line: RaceLine, laps_total: int | None = None
) -> list[StandingRow]:
    """Set each running car's ``gap_old``; returns the rows whose mark changed.

    A gap is old when nothing has confirmed it for ``OLD_GAP_S`` of session time while the
    session went on, or when it is below the gap of the car ahead and older than it (cars'
    updates arrive at different moments: the older of two gaps that contradict each other is
    the one to doubt). A car that has taken the flag keeps its final gap, never old.
    """
    marks: dict[str, bool] = {}
    ahead: StandingRow | None = None
    for r in tower(rows):
        if is_out(r) or not r.gap_to_leader or r.laps_down:
            marks[r.driver] = False  # out, the leader, lapped, or no gap yet
            if not is_out(r) and r.gap_to_leader == 0:
                ahead = r
            continue
        old = r.gaps_at is not None and line.now - r.gaps_at > OLD_GAP_S
        if ahead is not None and r.gap_to_leader < (ahead.gap_to_leader or 0.0):
            if (r.gaps_at or 0.0) < (ahead.gaps_at or 0.0):
                old = True
            else:
                marks[ahead.driver] = not _finished(ahead, line, laps_total)
        marks[r.driver] = old and not _finished(r, line, laps_total)
        ahead = r
    changed = []
    for r in rows:
        mark = marks.get(r.driver, False)
        if bool(r.gap_old) != mark:
            r.gap_old = mark
            changed.append(r)
    return changed
