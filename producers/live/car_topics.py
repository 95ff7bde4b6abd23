"""The live feed's per-car topics -> timing, lap, car-status and stint events.

* ``TimingData`` -> TimingEvent (position, gap, interval) and, per completed lap, a LapEvent
  with the lap's compound, tyre age, stint, position and track status (see ``laps.py``);
  its ``Retired``/``KnockedOut``, ``Stopped`` and ``InPit`` flags -> SessionEvent(car_status)
  when a car's status changes
* ``TimingAppData`` / ``TyreStintSeries`` -> StintEvent for a new stint or a correction
  (TimingAppData is the primary source of a driver's stints; TyreStintSeries fills in)

A lap's stint is the last one seen before the lap ended, so the stints seen feed the laps'
tyre fields; that is why both live here.
"""

from __future__ import annotations

from typing import Any

from producers.feed_values import as_int, as_str, parse_gap
from producers.live.archive import RawMessage
from producers.live.laps import FinishedLap
from producers.live.parser_state import (
    DriverState,
    Handler,
    ParserState,
    StintInfo,
    items,
    to_s,
    to_us,
)
from schemas import CarStatus, Envelope, LapEvent, SessionEvent, StintEvent, TimingEvent

#: TimingData flags of a car's status.
STATUS_FLAGS = {"Retired", "KnockedOut", "Stopped", "InPit"}


# -- timing --------------------------------------------------------------------------------
def on_timing_data(p: ParserState, msg: RawMessage, t: float, out: list[Envelope]) -> None:
    state = p.merge("TimingData", msg.data)
    lines = msg.data.get("Lines")
    if not isinstance(lines, dict):
        return
    lines_state = state.get("Lines") or {}
    t_us = to_us(t)
    for num, delta in lines.items():
        if not isinstance(delta, dict):
            continue
        car = p.car(num)
        for lap in car.laps.update(t_us, delta):
            out.append(lap_event(p, car, lap))
        if STATUS_FLAGS & delta.keys():
            car_status(p, car, num, lines_state.get(num) or {}, t, out)
        position = delta.get("Position")
        gap = delta.get("GapToLeader")
        interval = delta.get("IntervalToPositionAhead")
        interval_value = interval.get("Value") if isinstance(interval, dict) else None
        if position or gap or interval_value:
            out.append(timing_event(p, num, lines_state.get(num) or {}, t))


def timing_event(p: ParserState, num: str, line: dict[str, Any], t: float) -> TimingEvent:
    """A car's position, gap and interval from its merged timing line."""
    g, g_text = parse_gap(line.get("GapToLeader"))
    i_raw = line.get("IntervalToPositionAhead")
    i, i_text = parse_gap(i_raw.get("Value") if isinstance(i_raw, dict) else None)
    if i_text and i_text.upper().startswith("LAP"):
        i = 0.0
    return TimingEvent(
        session_key=p.session_key,
        event_time=p.at(t),
        driver=p.code(num),
        position=as_int(line.get("Position")),
        gap_to_leader=g,
        gap_to_leader_text=g_text,
        interval=i,
        interval_text=i_text,
    )


def car_status(
    p: ParserState,
    car: DriverState,
    num: str,
    line: dict[str, Any],
    t: float,
    out: list[Envelope],
) -> None:
    """A car-status event when the car's flags say something new."""
    if line.get("Retired") or line.get("KnockedOut"):
        status = CarStatus.RETIRED
    elif line.get("Stopped"):
        status = CarStatus.STOPPED
    elif line.get("InPit"):
        status = CarStatus.IN_PIT
    else:
        status = CarStatus.RUNNING
    if status == car.status or (car.status is None and status == CarStatus.RUNNING):
        car.status = status
        return
    car.status = status
    out.append(
        SessionEvent(
            session_key=p.session_key,
            event_time=p.at(t),
            kind="car_status",
            driver=p.code(num),
            car_status=status,
            lap=as_int(line.get("NumberOfLaps")),
            reason="knocked out" if line.get("KnockedOut") else None,
        )
    )


# -- laps ----------------------------------------------------------------------------------
def stint_for(car: DriverState, lap: FinishedLap) -> int | None:
    """1-based stint of a lap: the last stint seen before the lap ended (pit entry for
    an in-lap, whose new tyres are fitted after it)."""
    if not car.stints:
        return None
    end = to_s(lap.pit_in if lap.pit_in is not None else lap.end)
    candidates = [i for i, s in car.stints.items() if end is None or s.seen_at <= end]
    return (max(candidates) if candidates else min(car.stints)) + 1


def lap_event(p: ParserState, car: DriverState, lap: FinishedLap) -> LapEvent:
    """The event of a completed lap, with its stint's tyres and the track status in it."""
    num = car.number
    end = to_s(lap.end) if lap.end is not None else p.now
    stint = stint_for(car, lap)
    info = car.stints.get(stint - 1) if stint else None
    tyre_life = None
    if stint is not None:
        car.stint_laps[stint] += 1
        if info is not None and info.start_laps is not None:
            tyre_life = float(info.start_laps + info.laps_before + car.stint_laps[stint])
    car.laps_done = max(car.laps_done, lap.number)
    line = p.timing_line(num)
    sectors = [to_s(s) for s in lap.sectors]
    lap_time = to_s(lap.lap_time)
    accurate = (
        lap_time is not None
        and None not in sectors
        and lap.pit_in is None
        and lap.pit_out is None
        and not lap.integrity_error
        and lap.number > 1
    )
    team = (p.drivers.get(num) or {}).get("TeamName")
    return LapEvent(
        session_key=p.session_key,
        event_time=p.at(end),
        driver=p.code(num),
        driver_number=num,
        team=as_str(team),
        lap_number=lap.number,
        lap_time=lap_time,
        sector1=sectors[0],
        sector2=sectors[1],
        sector3=sectors[2],
        compound=info.compound if info else None,
        tyre_life=tyre_life,
        fresh_tyre=info.new if info else None,
        stint=stint,
        pit_in=lap.pit_in is not None,
        pit_out=lap.pit_out is not None,
        pit_in_time=to_s(lap.pit_in),
        pit_out_time=to_s(lap.pit_out),
        position=as_int(line.get("Position")),
        track_status=p.track_codes(to_s(lap.start), end),
        is_accurate=accurate,
        lap_start_time=to_s(lap.start),
        speed_trap=lap.speed_trap,
    )


# -- tyres ---------------------------------------------------------------------------------
def on_timing_app_data(p: ParserState, msg: RawMessage, t: float, out: list[Envelope]) -> None:
    state = p.merge("TimingAppData", msg.data)
    lines = msg.data.get("Lines")
    if not isinstance(lines, dict):
        return
    for num in lines:
        stints = ((state.get("Lines") or {}).get(num) or {}).get("Stints")
        stint_events(p, num, stints, t, out)


def on_tyre_stint_series(p: ParserState, msg: RawMessage, t: float, out: list[Envelope]) -> None:
    state = p.merge("TyreStintSeries", msg.data)
    changed = msg.data.get("Stints")
    if not isinstance(changed, dict):
        return
    app_lines = (p.state.get("TimingAppData") or {}).get("Lines") or {}
    for num in changed:
        if items((app_lines.get(num) or {}).get("Stints")):
            continue  # TimingAppData is the primary source of this driver's stints
        stint_events(p, num, (state.get("Stints") or {}).get(num), t, out)


def stint_events(p: ParserState, num: str, stints: Any, t: float, out: list[Envelope]) -> None:
    """A StintEvent for each of a car's stints that is new or whose tyres changed."""
    car = p.car(num)
    for i, s in items(stints):
        if not isinstance(s, dict):
            continue
        info = _note_stint(car, i, s, t)
        if info.compound is None:
            continue
        sig = (info.compound, info.new, info.start_laps)
        if car.published_stints.get(i) == sig:
            continue
        car.published_stints[i] = sig
        has_laps = num in ((p.state.get("TimingData") or {}).get("Lines") or {})
        out.append(
            StintEvent(
                session_key=p.session_key,
                event_time=p.at(t),
                driver=p.code(num),
                stint=i + 1,
                compound=info.compound,
                new=info.new,
                tyre_age_at_start=info.start_laps,
                lap_number=info.first_lap if has_laps else None,
            )
        )


def _note_stint(car: DriverState, i: int, s: dict[str, Any], t: float) -> StintInfo:
    """Merge the feed's values of stint ``i`` into what the car's state knows of it."""
    info = car.stints.get(i)
    if info is None:
        info = car.stints[i] = StintInfo(seen_at=t, first_lap=car.laps_done + 1)
        total, start = as_int(s.get("TotalLaps")), as_int(s.get("StartLaps"))
        if total is not None and start is not None:
            info.laps_before = max(0, total - start)
    info.compound = as_str(s.get("Compound")) or info.compound
    new = s.get("New")
    if new is not None:
        info.new = str(new).lower() == "true"
    start = as_int(s.get("StartLaps"))
    info.start_laps = start if start is not None else info.start_laps
    return info


#: Feed topic -> its handler.
CAR_HANDLERS: dict[str, Handler] = {
    "TimingData": on_timing_data,
    "TimingAppData": on_timing_app_data,
    "TyreStintSeries": on_tyre_stint_series,
}
