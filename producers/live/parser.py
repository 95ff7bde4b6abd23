"""The incremental live-timing parser: feed messages in, pitwall schema events out.

For every message the parser merges the delta into the session state (``state``, one
merged dict per topic, as F1's own client keeps it) and emits the events that message
makes true, the same events ``simulate_live`` publishes for a replayed session:

* ``SessionInfo`` / ``DriverList`` -> SessionEvent(info); ``SessionStatus`` -> status;
  ``LapCount`` -> lap_count
* ``TimingData`` -> TimingEvent (position, gap, interval) and, per completed lap, a LapEvent
  with the lap's compound, tyre age, stint, position and track status (see ``laps.py``);
  its ``Retired``/``KnockedOut``, ``Stopped`` and ``InPit`` flags -> SessionEvent(car_status)
  when a car's status changes
* ``TimingAppData`` / ``TyreStintSeries`` -> StintEvent for a new stint or a correction
* ``TrackStatus`` -> TrackStatusEvent, ``RaceControlMessages`` -> RaceControlEvent,
  ``WeatherData`` -> WeatherEvent, ``CarData.z`` / ``Position.z`` -> TelemetryEvent

Session time is the archive clock where the feed has one, otherwise seconds since the first
UTC timestamp seen. A message that cannot be parsed raises :class:`FeedError`; the parser
stays usable: the next message is parsed as usual.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from producers.live.archive import RawMessage, frame_line
from producers.live.decode import FeedError, inflate, parse_utc
from producers.live.laps import DriverLaps, FinishedLap
from producers.live.session import session_key_from_info
from producers.live.state import merge_delta
from schemas import (
    TRACK_STATUS_CODES,
    CarStatus,
    DriverInfo,
    Envelope,
    EventTime,
    LapEvent,
    RaceControlEvent,
    SessionEvent,
    StintEvent,
    TelemetryEvent,
    TimingEvent,
    TrackState,
    TrackStatusEvent,
    WeatherEvent,
    utcnow,
)

US = 1_000_000
DEFAULT_SESSION_KEY = "live"


def _us(seconds: float) -> int:
    return round(seconds * US)


def _s(micros: int | None) -> float | None:
    return None if micros is None else micros / US


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _str(value: Any) -> str | None:
    if value is None:
        return None
    s = str(value).strip()
    return s or None


def _gap(text: Any) -> tuple[float | None, str | None]:
    """'+1.234' -> 1.234; 'LAP 5' (the leader) -> 0.0; '+1 LAP' -> None (lapped)."""
    s = _str(text)
    if s is None:
        return None, None
    if s.upper().startswith("LAP"):
        return 0.0, s
    try:
        return float(s.lstrip("+")), s
    except ValueError:
        return None, s


def _items(container: Any) -> list[tuple[int, Any]]:
    """(index, item) of a list, or of a dict keyed by numbers, in index order."""
    if isinstance(container, list):
        return list(enumerate(container))
    if isinstance(container, dict):
        out = [(_int(k), v) for k, v in container.items()]
        return sorted((i, v) for i, v in out if i is not None)
    return []


_TELEMETRY_FIELDS = dict.fromkeys(
    ("speed", "rpm", "gear", "throttle", "brake", "drs", "distance", "x", "y", "z")
)


_TELEMETRY_NAMES = frozenset(TelemetryEvent.model_fields)
_set_attr = object.__setattr__


def _telemetry(key: str, when: EventTime, driver: str, **values: Any) -> TelemetryEvent:
    """A telemetry sample built the way ``model_construct`` builds one, without its per-field
    default lookups (a third of the parser's time on a .z message of ~80 samples): every
    field is named here and typed by the caller."""
    event = object.__new__(TelemetryEvent)
    _set_attr(
        event,
        "__dict__",
        {
            "type": "telemetry",
            "schema_version": 1,
            "session_key": key,
            "event_time": when,
            "produced_at": utcnow(),
            "driver": driver,
            **_TELEMETRY_FIELDS,
            **values,
        },
    )
    _set_attr(event, "__pydantic_fields_set__", set(_TELEMETRY_NAMES))
    _set_attr(event, "__pydantic_extra__", None)
    _set_attr(event, "__pydantic_private__", None)
    return event


@dataclass
class StintInfo:
    """What the parser knows of one stint of one driver."""

    compound: str | None = None
    new: bool | None = None
    start_laps: int | None = None
    seen_at: float = 0.0
    first_lap: int | None = None
    laps_before: int = 0  # laps on the set before the parser saw the stint (a joined feed)


#: TimingData flags of a car's status.
_STATUS_FLAGS = {"Retired", "KnockedOut", "Stopped", "InPit"}


@dataclass
class DriverState:
    """Per driver: identity, lap assembler, stints and what was last published."""

    number: str
    laps: DriverLaps
    stints: dict[int, StintInfo] = field(default_factory=dict)
    stint_laps: Counter[int] = field(default_factory=Counter)
    published_stints: dict[int, tuple[Any, ...]] = field(default_factory=dict)
    laps_done: int = 0
    status: CarStatus | None = None  # last status published


class LiveParser:
    """Incremental parser of one session's live-timing feed."""

    def __init__(self, session_key: str | None = None, *, telemetry: bool = True) -> None:
        self.fixed_key = session_key
        self.session_key = session_key or DEFAULT_SESSION_KEY
        self.telemetry = telemetry
        self.state: dict[str, Any] = {}
        self.drivers: dict[str, dict[str, Any]] = {}
        self.cars: dict[str, DriverState] = {}
        self.t0_utc: datetime | None = None
        self.now = 0.0
        self.track: list[tuple[float, str]] = []
        self.messages: Counter[str] = Counter()
        self.events: Counter[str] = Counter()
        self._info_sig: tuple[Any, ...] | None = None
        self._status: str | None = None

    @property
    def status(self) -> str | None:
        """The session status last seen (Inactive, Started, Finished, Finalised, Ends...)."""
        return self._status

    # -- time --------------------------------------------------------------------------
    def _session_time(self, msg: RawMessage) -> float:
        if msg.session_time is not None:
            if msg.utc is not None and self.t0_utc is None:
                self.t0_utc = msg.utc - timedelta(seconds=msg.session_time)
            return msg.session_time
        if msg.utc is not None:
            return self._from_utc(msg.utc)
        return self.now

    def _from_utc(self, utc: datetime) -> float:
        if self.t0_utc is None:
            self.t0_utc = utc - timedelta(seconds=self.now)
        return (utc - self.t0_utc).total_seconds()

    def at(self, session_time: float, utc: datetime | None = None) -> EventTime:
        if utc is None and self.t0_utc is not None:
            utc = self.t0_utc + timedelta(seconds=session_time)
        return EventTime(session_time=round(session_time, 3), utc=utc)

    # -- entry points ----------------------------------------------------------------------
    def feed_line(self, line: str | bytes, topic: str | None = None) -> list[Envelope]:
        """Parse one recorded or received line (any format of ``archive.py``)."""
        text = line.decode("utf-8-sig") if isinstance(line, bytes) else line
        out: list[Envelope] = []
        for msg in frame_line(text, topic):
            out.extend(self.feed(msg))
        return out

    def feed(self, msg: RawMessage) -> list[Envelope]:
        """Merge one message into the state and return the events it produces."""
        t = self._session_time(msg)
        handler = getattr(self, "_on_" + msg.topic.replace(".", "_"), None)
        self.messages[msg.topic] += 1
        out: list[Envelope] = []
        try:
            if handler is not None:
                handler(msg, t, out)
            else:
                self._merge(msg.topic, msg.data)
        except FeedError:
            raise
        except Exception as exc:  # any fault of one message goes to the DLQ
            raise FeedError(f"{msg.topic}: {type(exc).__name__}: {exc}") from exc
        if t > self.now:
            self.now = t
            out.extend(self._release_laps())
        for e in out:
            self.events[e.type] += 1
        return out

    def finish(self) -> list[Envelope]:
        """The feed ended: release the laps still waiting for late values."""
        out: list[Envelope] = []
        for car in self.cars.values():
            for lap in car.laps.finish():
                out.append(self._lap_event(car, lap))
        for e in out:
            self.events[e.type] += 1
        return out

    # -- helpers -----------------------------------------------------------------------
    def _merge(self, topic: str, data: Any) -> dict[str, Any]:
        current = self.state.get(topic)
        if not isinstance(data, dict):
            raise FeedError(f"{topic}: payload is {type(data).__name__}, not an object")
        if current is None:
            current = self.state[topic] = {}
        merge_delta(current, data)
        return current

    def _car(self, number: str) -> DriverState:
        car = self.cars.get(number)
        if car is None:
            car = self.cars[number] = DriverState(number, DriverLaps(number))
        return car

    def code(self, number: str) -> str:
        """Three-letter code of a car number (the number itself until the driver list came)."""
        info = self.drivers.get(number)
        return str(info.get("Tla") or number) if info else number

    def _release_laps(self) -> list[Envelope]:
        now = _us(self.now)
        out: list[Envelope] = []
        for car in self.cars.values():
            if car.laps.next_emit < car.laps.count:
                out.extend(self._lap_event(car, lap) for lap in car.laps.release(now))
        return out

    # -- session ---------------------------------------------------------------------------
    def _on_SessionInfo(self, msg: RawMessage, t: float, out: list[Envelope]) -> None:
        info = self._merge("SessionInfo", msg.data)
        if self.fixed_key is None:
            self.session_key = session_key_from_info(info) or self.session_key
        self._info_event(t, out)

    def _info_event(self, t: float, out: list[Envelope]) -> None:
        info = self.state.get("SessionInfo")
        if not info:
            return
        drivers = [
            DriverInfo(
                driver_number=num,
                driver=str(d.get("Tla") or num),
                full_name=_str(d.get("FullName")),
                team=_str(d.get("TeamName")),
                team_colour=_str(d.get("TeamColour")),
            )
            for num, d in sorted(self.drivers.items(), key=lambda kv: _int(kv[1].get("Line")) or 99)
        ]
        meeting = info.get("Meeting") or {}
        circuit = (meeting.get("Circuit") or {}).get("ShortName") or meeting.get("Location")
        start = str(info.get("StartDate") or "")
        who = sorted((d.driver_number, d.driver, d.team or "") for d in drivers)
        sig = (self.session_key, tuple(who))
        if sig == self._info_sig:
            return
        self._info_sig = sig
        lap_count = self.state.get("LapCount") or {}
        out.append(
            SessionEvent(
                session_key=self.session_key,
                event_time=self.at(t),
                kind="info",
                year=_int(start[:4]),
                event_name=_str(meeting.get("Name")),
                session_name=_str(info.get("Name")),
                circuit=_str(circuit),
                country=_str((meeting.get("Country") or {}).get("Name")),
                total_laps=_int(lap_count.get("TotalLaps")),
                drivers=drivers or None,
            )
        )

    def _on_DriverList(self, msg: RawMessage, t: float, out: list[Envelope]) -> None:
        state = self._merge("DriverList", msg.data)
        for num, entry in state.items():
            if isinstance(entry, dict) and num.isdigit():
                self.drivers[num] = entry
        self._info_event(t, out)

    def _on_SessionStatus(self, msg: RawMessage, t: float, out: list[Envelope]) -> None:
        state = self._merge("SessionStatus", msg.data)
        status = _str(state.get("Status"))
        if status and "Status" in msg.data and status != self._status:
            self._status = status
            out.append(
                SessionEvent(
                    session_key=self.session_key,
                    event_time=self.at(t),
                    kind="status",
                    status=status,
                )
            )

    def _on_LapCount(self, msg: RawMessage, t: float, out: list[Envelope]) -> None:
        state = self._merge("LapCount", msg.data)
        if "CurrentLap" in msg.data or "TotalLaps" in msg.data:
            out.append(
                SessionEvent(
                    session_key=self.session_key,
                    event_time=self.at(t),
                    kind="lap_count",
                    current_lap=_int(state.get("CurrentLap")),
                    total_laps=_int(state.get("TotalLaps")),
                )
            )

    def _on_Heartbeat(self, msg: RawMessage, t: float, out: list[Envelope]) -> None:
        state = self._merge("Heartbeat", msg.data)
        if self.t0_utc is None and state.get("Utc"):
            self.t0_utc = parse_utc(state["Utc"]) - timedelta(seconds=t)

    # -- track -----------------------------------------------------------------------------
    def _on_TrackStatus(self, msg: RawMessage, t: float, out: list[Envelope]) -> None:
        state = self._merge("TrackStatus", msg.data)
        code = _str(state.get("Status"))
        if code and "Status" in msg.data:
            self.track.append((t, code))
            out.append(
                TrackStatusEvent(
                    session_key=self.session_key,
                    event_time=self.at(t),
                    status=code,
                    state=TRACK_STATUS_CODES.get(code, TrackState.UNKNOWN),
                    message=_str(state.get("Message")),
                )
            )

    def _track_codes(self, start: float | None, end: float) -> str | None:
        """FastF1's TrackStatus of a lap: the status at its start and every change in it."""
        codes: list[str] = []
        current = None
        for when, code in self.track:
            if start is not None and when <= start:
                current = code
            elif when <= end:
                if current is not None and current not in codes:
                    codes.append(current)
                current = code
        if current is not None and current not in codes:
            codes.append(current)
        return "".join(codes) or None

    def _on_RaceControlMessages(self, msg: RawMessage, t: float, out: list[Envelope]) -> None:
        self._merge("RaceControlMessages", msg.data)
        for _i, m in _items(msg.data.get("Messages")):
            if not isinstance(m, dict) or not _str(m.get("Message")):
                continue
            try:
                utc = parse_utc(m["Utc"]) if m.get("Utc") else None
            except FeedError:
                utc = None  # a garbled timestamp inside a valid message: keep the message
            out.append(
                RaceControlEvent(
                    session_key=self.session_key,
                    event_time=self.at(t, utc),
                    category=_str(m.get("Category")),
                    message=str(m["Message"]),
                    flag=_str(m.get("Flag")),
                    scope=_str(m.get("Scope")),
                    sector=_int(m.get("Sector")),
                    racing_number=_str(m.get("RacingNumber")),
                    lap=_int(m.get("Lap")),
                    status=_str(m.get("Status")),
                )
            )

    def _on_WeatherData(self, msg: RawMessage, t: float, out: list[Envelope]) -> None:
        state = self._merge("WeatherData", msg.data)
        keys = ("AirTemp", "TrackTemp", "Humidity", "Pressure", "Rainfall", "WindSpeed")
        if not any(k in msg.data for k in (*keys, "WindDirection")):
            return
        rain = _str(state.get("Rainfall"))
        out.append(
            WeatherEvent(
                session_key=self.session_key,
                event_time=self.at(t),
                air_temp=_float(state.get("AirTemp")),
                track_temp=_float(state.get("TrackTemp")),
                humidity=_float(state.get("Humidity")),
                pressure=_float(state.get("Pressure")),
                rainfall=None if rain is None else rain not in ("0", "false", "False"),
                wind_direction=_float(state.get("WindDirection")),
                wind_speed=_float(state.get("WindSpeed")),
            )
        )

    # -- timing ----------------------------------------------------------------------------
    def _on_TimingData(self, msg: RawMessage, t: float, out: list[Envelope]) -> None:
        state = self._merge("TimingData", msg.data)
        lines = msg.data.get("Lines")
        if not isinstance(lines, dict):
            return
        lines_state = state.get("Lines") or {}
        t_us = _us(t)
        for num, delta in lines.items():
            if not isinstance(delta, dict):
                continue
            car = self._car(num)
            for lap in car.laps.update(t_us, delta):
                out.append(self._lap_event(car, lap))
            if _STATUS_FLAGS & delta.keys():
                self._car_status(car, num, lines_state.get(num) or {}, t, out)
            position = delta.get("Position")
            gap = delta.get("GapToLeader")
            interval = delta.get("IntervalToPositionAhead")
            interval_value = interval.get("Value") if isinstance(interval, dict) else None
            if position or gap or interval_value:
                line = lines_state.get(num) or {}
                g, g_text = _gap(line.get("GapToLeader"))
                i_raw = line.get("IntervalToPositionAhead")
                i, i_text = _gap(i_raw.get("Value") if isinstance(i_raw, dict) else None)
                if i_text and i_text.upper().startswith("LAP"):
                    i = 0.0
                out.append(
                    TimingEvent(
                        session_key=self.session_key,
                        event_time=self.at(t),
                        driver=self.code(num),
                        position=_int(line.get("Position")),
                        gap_to_leader=g,
                        gap_to_leader_text=g_text,
                        interval=i,
                        interval_text=i_text,
                    )
                )

    def _car_status(
        self, car: DriverState, num: str, line: dict[str, Any], t: float, out: list[Envelope]
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
                session_key=self.session_key,
                event_time=self.at(t),
                kind="car_status",
                driver=self.code(num),
                car_status=status,
                lap=_int(line.get("NumberOfLaps")),
                reason="knocked out" if line.get("KnockedOut") else None,
            )
        )

    def _stint_for(self, car: DriverState, lap: FinishedLap) -> int | None:
        """1-based stint of a lap: the last stint seen before the lap ended (pit entry for
        an in-lap, whose new tyres are fitted after it)."""
        if not car.stints:
            return None
        end = _s(lap.pit_in if lap.pit_in is not None else lap.end)
        candidates = [i for i, s in car.stints.items() if end is None or s.seen_at <= end]
        return (max(candidates) if candidates else min(car.stints)) + 1

    def _lap_event(self, car: DriverState, lap: FinishedLap) -> LapEvent:
        num = car.number
        end = _s(lap.end) if lap.end is not None else self.now
        stint = self._stint_for(car, lap)
        info = car.stints.get(stint - 1) if stint else None
        tyre_life = None
        if stint is not None:
            car.stint_laps[stint] += 1
            if info is not None and info.start_laps is not None:
                tyre_life = float(info.start_laps + info.laps_before + car.stint_laps[stint])
        car.laps_done = max(car.laps_done, lap.number)
        line = ((self.state.get("TimingData") or {}).get("Lines") or {}).get(num) or {}
        sectors = [_s(s) for s in lap.sectors]
        lap_time = _s(lap.lap_time)
        accurate = (
            lap_time is not None
            and None not in sectors
            and lap.pit_in is None
            and lap.pit_out is None
            and not lap.integrity_error
            and lap.number > 1
        )
        team = (self.drivers.get(num) or {}).get("TeamName")
        return LapEvent(
            session_key=self.session_key,
            event_time=self.at(end),
            driver=self.code(num),
            driver_number=num,
            team=_str(team),
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
            pit_in_time=_s(lap.pit_in),
            pit_out_time=_s(lap.pit_out),
            position=_int(line.get("Position")),
            track_status=self._track_codes(_s(lap.start), end),
            is_accurate=accurate,
            lap_start_time=_s(lap.start),
            speed_trap=lap.speed_trap,
        )

    # -- tyres -----------------------------------------------------------------------------
    def _on_TimingAppData(self, msg: RawMessage, t: float, out: list[Envelope]) -> None:
        state = self._merge("TimingAppData", msg.data)
        lines = msg.data.get("Lines")
        if not isinstance(lines, dict):
            return
        for num in lines:
            stints = ((state.get("Lines") or {}).get(num) or {}).get("Stints")
            self._stints(num, stints, t, out)

    def _on_TyreStintSeries(self, msg: RawMessage, t: float, out: list[Envelope]) -> None:
        state = self._merge("TyreStintSeries", msg.data)
        changed = msg.data.get("Stints")
        if not isinstance(changed, dict):
            return
        app_lines = (self.state.get("TimingAppData") or {}).get("Lines") or {}
        for num in changed:
            if _items((app_lines.get(num) or {}).get("Stints")):
                continue  # TimingAppData is the primary source of this driver's stints
            self._stints(num, (state.get("Stints") or {}).get(num), t, out)

    def _stints(self, num: str, stints: Any, t: float, out: list[Envelope]) -> None:
        car = self._car(num)
        for i, s in _items(stints):
            if not isinstance(s, dict):
                continue
            info = car.stints.get(i)
            if info is None:
                info = car.stints[i] = StintInfo(seen_at=t, first_lap=car.laps_done + 1)
                total, start = _int(s.get("TotalLaps")), _int(s.get("StartLaps"))
                if total is not None and start is not None:
                    info.laps_before = max(0, total - start)
            info.compound = _str(s.get("Compound")) or info.compound
            new = s.get("New")
            if new is not None:
                info.new = str(new).lower() == "true"
            start = _int(s.get("StartLaps"))
            info.start_laps = start if start is not None else info.start_laps
            if info.compound is None:
                continue
            sig = (info.compound, info.new, info.start_laps)
            if car.published_stints.get(i) == sig:
                continue
            car.published_stints[i] = sig
            has_laps = num in ((self.state.get("TimingData") or {}).get("Lines") or {})
            out.append(
                StintEvent(
                    session_key=self.session_key,
                    event_time=self.at(t),
                    driver=self.code(num),
                    stint=i + 1,
                    compound=info.compound,
                    new=info.new,
                    tyre_age_at_start=info.start_laps,
                    lap_number=info.first_lap if has_laps else None,
                )
            )

    # -- telemetry -------------------------------------------------------------------------
    def _on_CarData_z(self, msg: RawMessage, t: float, out: list[Envelope]) -> None:
        data = inflate(msg.data) if isinstance(msg.data, str) else msg.data
        if not isinstance(data, dict) or not isinstance(data.get("Entries"), list):
            raise FeedError("CarData.z: inflated payload has no Entries list")
        if not self.telemetry:
            return
        key = self.session_key
        for entry in data["Entries"]:
            utc = parse_utc(entry["Utc"])
            when = self.at(self._from_utc(utc), utc)
            for num, car in (entry.get("Cars") or {}).items():
                ch = car.get("Channels") or {}
                brake = ch.get("5")
                out.append(
                    _telemetry(
                        key,
                        when,
                        self.code(num),
                        rpm=_float(ch.get("0")),
                        speed=_float(ch.get("2")),
                        gear=_int(ch.get("3")),
                        throttle=_float(ch.get("4")),
                        brake=None if brake is None else bool(_int(brake)),
                        drs=_int(ch.get("45")),
                    )
                )

    def _on_Position_z(self, msg: RawMessage, t: float, out: list[Envelope]) -> None:
        data = inflate(msg.data) if isinstance(msg.data, str) else msg.data
        if not isinstance(data, dict) or not isinstance(data.get("Position"), list):
            raise FeedError("Position.z: inflated payload has no Position list")
        if not self.telemetry:
            return
        key = self.session_key
        for sample in data["Position"]:
            utc = parse_utc(sample["Timestamp"])
            when = self.at(self._from_utc(utc), utc)
            for num, pos in (sample.get("Entries") or {}).items():
                out.append(
                    _telemetry(
                        key,
                        when,
                        self.code(num),
                        x=_float(pos.get("X")),
                        y=_float(pos.get("Y")),
                        z=_float(pos.get("Z")),
                    )
                )
