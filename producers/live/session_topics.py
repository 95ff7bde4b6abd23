"""The live feed's session-wide topics -> session, track-status, race-control and weather events.

* ``SessionInfo`` / ``DriverList`` -> SessionEvent(info), once per new session key or line-up
* ``SessionStatus`` -> SessionEvent(status); ``LapCount`` -> SessionEvent(lap_count)
* ``Heartbeat`` fixes the UTC clock when nothing else has
* ``TrackStatus`` -> TrackStatusEvent (kept for the laps' track status too)
* ``RaceControlMessages`` -> RaceControlEvent, ``WeatherData`` -> WeatherEvent
"""

from __future__ import annotations

from datetime import timedelta

from producers.feed_values import as_float, as_int, as_str
from producers.live.archive import RawMessage
from producers.live.decode import FeedError, parse_utc
from producers.live.parser_state import Handler, ParserState, items
from producers.live.session import session_key_from_info
from schemas import (
    TRACK_STATUS_CODES,
    DriverInfo,
    Envelope,
    RaceControlEvent,
    SessionEvent,
    TrackState,
    TrackStatusEvent,
    WeatherEvent,
)


def on_session_info(p: ParserState, msg: RawMessage, t: float, out: list[Envelope]) -> None:
    info = p.merge("SessionInfo", msg.data)
    if p.fixed_key is None:
        p.session_key = session_key_from_info(info) or p.session_key
    info_event(p, t, out)


def info_event(p: ParserState, t: float, out: list[Envelope]) -> None:
    """The session's info event, when its key or line-up changed since the last one."""
    info = p.state.get("SessionInfo")
    if not info:
        return
    drivers = [
        DriverInfo(
            driver_number=num,
            driver=str(d.get("Tla") or num),
            full_name=as_str(d.get("FullName")),
            team=as_str(d.get("TeamName")),
            team_colour=as_str(d.get("TeamColour")),
        )
        for num, d in sorted(p.drivers.items(), key=lambda kv: as_int(kv[1].get("Line")) or 99)
    ]
    meeting = info.get("Meeting") or {}
    circuit = (meeting.get("Circuit") or {}).get("ShortName") or meeting.get("Location")
    start = str(info.get("StartDate") or "")
    who = sorted((d.driver_number, d.driver, d.team or "") for d in drivers)
    sig = (p.session_key, tuple(who))
    if sig == p.info_signature:
        return
    p.info_signature = sig
    lap_count = p.state.get("LapCount") or {}
    out.append(
        SessionEvent(
            session_key=p.session_key,
            event_time=p.at(t),
            kind="info",
            year=as_int(start[:4]),
            event_name=as_str(meeting.get("Name")),
            session_name=as_str(info.get("Name")),
            circuit=as_str(circuit),
            country=as_str((meeting.get("Country") or {}).get("Name")),
            total_laps=as_int(lap_count.get("TotalLaps")),
            drivers=drivers or None,
        )
    )


def on_driver_list(p: ParserState, msg: RawMessage, t: float, out: list[Envelope]) -> None:
    state = p.merge("DriverList", msg.data)
    for num, entry in state.items():
        if isinstance(entry, dict) and num.isdigit():
            p.drivers[num] = entry
    info_event(p, t, out)


def on_session_status(p: ParserState, msg: RawMessage, t: float, out: list[Envelope]) -> None:
    state = p.merge("SessionStatus", msg.data)
    status = as_str(state.get("Status"))
    if status and "Status" in msg.data and status != p.last_status:
        p.last_status = status
        out.append(
            SessionEvent(
                session_key=p.session_key, event_time=p.at(t), kind="status", status=status
            )
        )


def on_lap_count(p: ParserState, msg: RawMessage, t: float, out: list[Envelope]) -> None:
    state = p.merge("LapCount", msg.data)
    if "CurrentLap" in msg.data or "TotalLaps" in msg.data:
        out.append(
            SessionEvent(
                session_key=p.session_key,
                event_time=p.at(t),
                kind="lap_count",
                current_lap=as_int(state.get("CurrentLap")),
                total_laps=as_int(state.get("TotalLaps")),
            )
        )


def on_heartbeat(p: ParserState, msg: RawMessage, t: float, out: list[Envelope]) -> None:
    state = p.merge("Heartbeat", msg.data)
    if p.t0_utc is None and state.get("Utc"):
        p.t0_utc = parse_utc(state["Utc"]) - timedelta(seconds=t)


def on_track_status(p: ParserState, msg: RawMessage, t: float, out: list[Envelope]) -> None:
    state = p.merge("TrackStatus", msg.data)
    code = as_str(state.get("Status"))
    if code and "Status" in msg.data:
        p.track.append((t, code))
        out.append(
            TrackStatusEvent(
                session_key=p.session_key,
                event_time=p.at(t),
                status=code,
                state=TRACK_STATUS_CODES.get(code, TrackState.UNKNOWN),
                message=as_str(state.get("Message")),
            )
        )


def on_race_control(p: ParserState, msg: RawMessage, t: float, out: list[Envelope]) -> None:
    p.merge("RaceControlMessages", msg.data)
    for _i, m in items(msg.data.get("Messages")):
        if not isinstance(m, dict) or not as_str(m.get("Message")):
            continue
        try:
            utc = parse_utc(m["Utc"]) if m.get("Utc") else None
        except FeedError:
            utc = None  # a garbled timestamp inside a valid message: keep the message
        out.append(
            RaceControlEvent(
                session_key=p.session_key,
                event_time=p.at(t, utc),
                category=as_str(m.get("Category")),
                message=str(m["Message"]),
                flag=as_str(m.get("Flag")),
                scope=as_str(m.get("Scope")),
                sector=as_int(m.get("Sector")),
                racing_number=as_str(m.get("RacingNumber")),
                lap=as_int(m.get("Lap")),
                status=as_str(m.get("Status")),
            )
        )


def on_weather(p: ParserState, msg: RawMessage, t: float, out: list[Envelope]) -> None:
    state = p.merge("WeatherData", msg.data)
    keys = ("AirTemp", "TrackTemp", "Humidity", "Pressure", "Rainfall", "WindSpeed")
    if not any(k in msg.data for k in (*keys, "WindDirection")):
        return
    rain = as_str(state.get("Rainfall"))
    out.append(
        WeatherEvent(
            session_key=p.session_key,
            event_time=p.at(t),
            air_temp=as_float(state.get("AirTemp")),
            track_temp=as_float(state.get("TrackTemp")),
            humidity=as_float(state.get("Humidity")),
            pressure=as_float(state.get("Pressure")),
            rainfall=None if rain is None else rain not in ("0", "false", "False"),
            wind_direction=as_float(state.get("WindDirection")),
            wind_speed=as_float(state.get("WindSpeed")),
        )
    )


#: Feed topic -> its handler.
SESSION_HANDLERS: dict[str, Handler] = {
    "SessionInfo": on_session_info,
    "DriverList": on_driver_list,
    "SessionStatus": on_session_status,
    "LapCount": on_lap_count,
    "Heartbeat": on_heartbeat,
    "TrackStatus": on_track_status,
    "RaceControlMessages": on_race_control,
    "WeatherData": on_weather,
}
