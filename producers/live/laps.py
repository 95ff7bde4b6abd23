"""Completed laps from TimingData deltas, one driver at a time, as FastF1 would judge them.

FastF1's ``_api.timing_data`` reads a whole session at once; this is the same lap logic made
incremental, so that laps emitted live equal the laps FastF1 later loads from the archive:

* a lap ends when ``NumberOfLaps`` grows (by one per message) after the car first left the
  pits; values arriving up to 5 s after a lap ended (late sector 3, lap time) belong to it;
* ``InPit: true`` is a pit entry on the current lap; ``InPit: false`` a pit exit, which
  belongs to the next lap when that lap starts within 5 s;
* lap times over 150 s are only kept when the sectors add up to them; a lap time shorter
  than its sectors is dropped; an empty lap time is the sum of the sectors; a missing lap or
  sector time equal to the previous lap's is filled in (the feed omits unchanged values);
* ``NumberOfLaps`` going backwards (late data) is ignored until the feed catches up;
* ``NumberOfLaps`` growing by more than one means the feed lost the end of a lap (a dropped
  message): the lap in progress then holds values of several laps, so it is published
  without times (flagged inaccurate), as is every lap whose end was lost, and the lap that
  ends now keeps only what came with its end (FastF1, which counts one lap per message,
  would give every later lap of the car the next one's times);
* a lap time shorter by over 30 s than the time the lap took (to its end, or to the pit entry
  of an in-lap) is another lap's (a lost end the count did not show, e.g. of the last lap of
  the feed): the lap is published without times, flagged inaccurate;
* the first lap is dropped when it holds no timing data (a pseudo out-lap), renumbering the
  rest; a lap in progress at the end of the feed is kept only if it ended in the pits;
* a feed joined mid-session (the first snapshot already counts laps) numbers laps on from
  that count; FastF1, which needs the whole session, has no such case.

A lap is released once it is complete (lap time and three sectors), or 5 s of feed time
after it ended, or when the feed ends. All times are integer microseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from producers.live.decode import parse_duration

LATE_US = 5_000_000  # values up to 5 s after a lap's end still belong to it
MAX_LAP_US = 150_000_000  # longer lap times need matching sectors
#: A lap that took this much longer than its lap time holds another lap's values (measured
#: on the reference feeds: -10 s to +5 s for every lap, to its end or to its pit entry).
OVERRUN_US = 30_000_000
UNSET = "unset"  # lap time state: not received
EMPTY = "empty"  # received as an empty value
VALUE = "value"


@dataclass
class LapRow:
    """One lap of one driver while it is being assembled."""

    end: int | None = None  # session time the lap ended (NumberOfLaps grew)
    lap_time: int | None = None
    lap_time_state: str = UNSET
    sectors: list[int | None] = field(default_factory=lambda: [None, None, None])
    speeds: dict[str, float] = field(default_factory=dict)
    pit_in: int | None = None
    pit_out: int | None = None
    integrity_error: bool = False
    lost: bool = False  # the feed lost this lap's end: its values are not its own

    def has_data(self) -> bool:
        return (
            self.lost
            or any(s is not None for s in self.sectors)
            or bool(self.speeds)
            or (self.lap_time_state == VALUE and self.lap_time is not None)
        )

    def sector_sum(self) -> int | None:
        if any(s is None for s in self.sectors):
            return None
        return sum(self.sectors)  # type: ignore[arg-type]

    def complete(self) -> bool:
        return self.lap_time is not None and all(s is not None for s in self.sectors)


@dataclass
class FinishedLap:
    """A lap ready to publish: FastF1's lap number and values (microseconds)."""

    number: int
    end: int | None
    start: int | None
    lap_time: int | None
    sectors: list[int | None]
    pit_in: int | None
    pit_out: int | None
    speed_trap: float | None
    integrity_error: bool


def _get(d: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


class DriverLaps:
    """The lap assembler of one driver: feed it this driver's TimingData line deltas."""

    def __init__(self, driver_number: str) -> None:
        self.driver_number = driver_number
        self.api_laps = 0
        self.in_past = False
        self.pitstops = -1
        self.rows: list[LapRow] = [LapRow()]
        self.count = 0  # index of the lap in progress
        self.pending_pit_out: list[int] = []
        self.next_emit = 0  # index of the next row to release
        self.dropped_first: bool | None = None
        self.previous: LapRow | None = None  # last released row (post-processed)
        self.last_end: int | None = None
        self.late_updates = 0
        self.started = False
        self.base = 0  # laps completed before the feed was joined

    def _row(self, i: int) -> LapRow:
        while len(self.rows) <= i:
            self.rows.append(LapRow())
        return self.rows[i]

    def _target(self, i: int) -> LapRow:
        if i < self.next_emit:
            self.late_updates += 1
            return LapRow()  # already released: the update is counted, not applied
        return self._row(i)

    def update(self, t: int, resp: dict[str, Any]) -> list[FinishedLap]:
        """Apply one delta at session time ``t``; return the laps this releases."""
        nol = resp.get("NumberOfLaps")
        has_nol = isinstance(nol, int)
        if not self.started:
            self.started = True
            if has_nol and nol >= 1:
                return self._join(t, nol)
        if self.in_past and has_nol and nol == self.api_laps:
            self.in_past = False
        if self.in_past or (has_nol and nol < self.api_laps):
            self.in_past = True
            return self.release(t)
        if has_nol and nol > self.api_laps + 1 and self.pitstops >= 0:
            self._lost_ends(t, nol - self.api_laps - 1)
        count = self.count
        before = self.rows[count - 1] if count > 0 else None
        offset = 1 if before and not before.lost and t - (before.end or 0) < LATE_US else 0
        sectors = resp.get("Sectors")
        if isinstance(sectors, dict):
            for n, key in enumerate(("0", "1", "2")):
                val = _get(sectors, key, "Value")
                if val:
                    self._target(count - offset).sectors[n] = parse_duration(val)
        last = resp.get("LastLapTime")
        if isinstance(last, dict) and last.get("Value") is not None:
            val = parse_duration(last["Value"])
            row = self._target(count - offset)
            if val is None or val < MAX_LAP_US or val == row.sector_sum():
                row.lap_time = val
                row.lap_time_state = EMPTY if val is None else VALUE
        speeds = resp.get("Speeds")
        if isinstance(speeds, dict):
            for trap in ("I1", "I2", "FL", "ST"):
                val = _get(speeds, trap, "Value")
                if val:
                    try:
                        speed = float(val)
                    except (TypeError, ValueError):
                        continue
                    target = count if trap == "ST" else count - offset
                    self._target(target).speeds[trap] = speed
        if "InPit" in resp:
            if resp["InPit"] is True:
                if self.pitstops >= 0:
                    self._row(count).pit_in = t
            elif has_nol and nol > self.api_laps:
                self._row(count + 1).pit_out = t
                self.pitstops += 1
            else:
                self.pending_pit_out.append(t)
                self.pitstops += 1
        if has_nol and nol > self.api_laps:
            self.api_laps += 1
            if self.pitstops >= 0:
                row = self._row(count)
                row.end = t
                for p in self.pending_pit_out:
                    self._row(count + 1 if t - p < LATE_US else count).pit_out = p
                self.pending_pit_out.clear()
                self.count += 1
                self._row(self.count)
        return self.release(t)

    def _lost_ends(self, t: int, n: int) -> None:
        """``n`` lap ends the feed never told: the lap in progress and the next ``n - 1``
        ended by ``t``, with no value of their own (what the row holds mixes laps)."""
        for _ in range(n):
            row = self._row(self.count)
            row.sectors, row.speeds = [None, None, None], {}
            row.lap_time, row.lap_time_state = None, UNSET
            row.integrity_error = row.lost = True
            row.end = t
            self.api_laps += 1
            self.count += 1
            self._row(self.count)

    def _join(self, t: int, laps_done: int) -> list[FinishedLap]:
        """The feed was joined mid-session: this snapshot says ``laps_done`` laps are behind
        the driver. Count on from there; the snapshot's values describe a finished lap."""
        self.api_laps = self.base = laps_done
        self.pitstops = 0
        self.dropped_first = False
        self.last_end = t
        return []

    def release(self, now: int) -> list[FinishedLap]:
        """Laps that can no longer change (or are complete) as of session time ``now``."""
        out: list[FinishedLap] = []
        while self.next_emit < self.count:
            i = self.next_emit
            row = self.rows[i]
            latest = i == self.count - 1
            settled = not latest or now - (row.end or 0) >= LATE_US
            if not settled and not row.complete():
                break
            lap = self._finish(i, row)
            self.next_emit += 1
            if lap is not None:
                out.append(lap)
        return out

    def finish(self) -> list[FinishedLap]:
        """The end of the feed: release everything, including a lap in progress."""
        out = self.release(1 << 62)
        for p in self.pending_pit_out:
            self._row(self.count).pit_out = p
        self.pending_pit_out.clear()
        row = self._row(self.count)
        in_pits = row.pit_in is not None and row.has_data()
        if self.count > 0 and self.next_emit == self.count and in_pits:
            row.end = row.pit_in
            lap = self._finish(self.count, row)
            self.next_emit += 1
            if lap is not None:
                out.append(lap)
        return out

    def _finish(self, index: int, row: LapRow) -> FinishedLap | None:
        """FastF1's post-processing of one lap; None for a dropped pseudo out-lap."""
        if self.dropped_first is None:
            self.dropped_first = not row.has_data()
            if self.dropped_first:
                self.last_end = row.end
                return None
        first = self.previous is None
        if first and None not in (row.pit_in, row.pit_out) and row.pit_in < row.pit_out:  # type: ignore[operator]
            row.pit_in = None
        present = [s for s in row.sectors if s is not None]
        missing = [n for n, s in enumerate(row.sectors) if s is None]
        total = sum(present)
        if row.lap_time_state == VALUE and row.lap_time is not None and total > row.lap_time:
            row.lap_time, row.lap_time_state, row.integrity_error = None, UNSET, True
        if row.lap_time_state == EMPTY:
            row.lap_time = total if not missing else None
            row.lap_time_state = VALUE if not missing else UNSET
        prev = self.previous
        if not first and prev is not None:
            if not missing and row.lap_time is None and prev.lap_time == total:
                row.lap_time, row.lap_time_state = total, VALUE
            elif len(missing) == 1 and row.lap_time is not None:
                guess = row.lap_time - total
                if guess == prev.sectors[missing[0]]:
                    row.sectors[missing[0]] = guess
        number = self.base + index + 1 - (1 if self.dropped_first else 0)
        start = row.pit_out if self.last_end is None else self.last_end
        stop = row.pit_in if row.pit_in is not None else row.end
        took = None if start is None or stop is None else stop - start
        if row.lap_time is not None and took is not None and took - row.lap_time > OVERRUN_US:
            row.lap_time, row.lap_time_state = None, UNSET
            row.sectors, row.integrity_error = [None, None, None], True
        self.previous = row
        self.last_end = row.end
        return FinishedLap(
            number=number,
            end=row.end,
            start=start,
            lap_time=row.lap_time,
            sectors=list(row.sectors),
            pit_in=row.pit_in,
            pit_out=row.pit_out,
            speed_trap=row.speeds.get("ST"),
            integrity_error=row.integrity_error,
        )
