"""The events of a past session as FastF1 loaded it: session status and lap count,
completed laps, position/gap/interval updates, stint changes, track status, race-control
messages, weather and car telemetry, each a schema event at its session time (and UTC).

Nothing is dropped silently: every row that cannot become an event is counted in
``EventBuilder.skipped`` with the reason. ``replay.timeline`` orders them into a timeline.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from producers.feed_values import as_int, as_str, parse_gap
from replay.fastf1_source import LoadedSession
from replay.parquet_source import telemetry_frame
from replay.retirements import car_status_events
from schemas import (
    TRACK_STATUS_CODES,
    DriverInfo,
    Envelope,
    EventTime,
    LapEvent,
    RaceControlEvent,
    SessionEvent,
    StintEvent,
    TimingEvent,
    TrackState,
    TrackStatusEvent,
    WeatherEvent,
)
from schemas.fastbuild import telemetry_event


def _seconds(value: Any) -> float | None:
    """Timedelta/float/NaT -> seconds or None."""
    if value is None:
        return None
    if isinstance(value, pd.Timedelta | timedelta):
        return None if pd.isna(value) else value.total_seconds()
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _plain(value: Any) -> Any:
    """None for pandas' missing values (None, NaN, NA), else ``value``."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _int(value: Any) -> int | None:
    return as_int(_seconds(value))


def _str(value: Any) -> str | None:
    return as_str(_plain(value))


def _bool(value: Any) -> bool | None:
    value = _plain(value)
    return None if value is None else bool(value)


class EventBuilder:
    """Turns a loaded FastF1 session into events; counts what it cannot use."""

    def __init__(self, loaded: LoadedSession, telemetry_every: int = 1) -> None:
        self.loaded = loaded
        self.telemetry_every = max(1, telemetry_every)
        self.ses = loaded.session
        self.key = loaded.session_key
        self.skipped: Counter[str] = Counter()
        self.t0_utc = self._t0_utc()
        results = self.ses.results
        self.tla = {
            str(num): str(abbr)
            for num, abbr in zip(results["DriverNumber"], results["Abbreviation"], strict=False)
        }

    def _t0_utc(self) -> datetime | None:
        """UTC of session time 0: the scheduled start minus the session time it started at."""
        info = getattr(self.ses, "session_info", None) or {}
        start, offset = info.get("StartDate"), info.get("GmtOffset")
        status = self.ses.session_status
        started = status[status["Status"] == "Started"]["Time"] if status is not None else []
        if start is None or offset is None or len(started) == 0:
            return None
        start_utc = (start - offset).replace(tzinfo=UTC)
        return start_utc - started.iloc[0].to_pytimedelta()

    def at(self, session_time: float) -> EventTime:
        utc = self.t0_utc + timedelta(seconds=session_time) if self.t0_utc else None
        return EventTime(session_time=round(session_time, 3), utc=utc)

    def events(self) -> list[Envelope]:
        """Every event of the session, unordered (a timeline sorts them)."""
        events: list[Envelope] = []
        for part in (
            self.session_events,
            self.lap_events,
            self.stint_events,
            self.timing_events,
            self.track_status_events,
            self.weather_events,
            self.telemetry_events,
        ):
            events.extend(part())
        messages = list(self.race_control_events())
        events.extend(messages)
        if self.loaded.code in ("R", "S") and self.ses.laps is not None:
            events.extend(car_status_events(self.ses.laps, messages, self.key, self.at))
        return events

    def session_events(self) -> Iterable[Envelope]:
        ev, ses = self.loaded.event, self.ses
        results = ses.results
        drivers = [
            DriverInfo(
                driver_number=str(r.DriverNumber),
                driver=str(r.Abbreviation),
                full_name=_str(r.FullName),
                team=_str(r.TeamName),
                team_colour=_str(r.TeamColor),
            )
            for r in results.itertuples()
        ]
        total = ses.total_laps if self.loaded.code in ("R", "S") else None
        yield SessionEvent(
            session_key=self.key,
            event_time=self.at(0.0),
            kind="info",
            year=ev.year,
            event_name=ev.event_name,
            session_name=ses.name,
            circuit=ev.location,
            country=ev.country,
            total_laps=total,
            drivers=drivers,
        )
        status = ses.session_status
        for row in status.itertuples() if status is not None else []:
            t = _seconds(row.Time)
            if t is None:
                self.skipped["session status without time"] += 1
                continue
            yield SessionEvent(
                session_key=self.key, event_time=self.at(t), kind="status", status=str(row.Status)
            )
        lap_count = self.loaded.lap_count or {}
        for t, current, total_laps in zip(
            lap_count.get("Time", []),
            lap_count.get("CurrentLap", [None] * len(lap_count.get("Time", []))),
            lap_count.get("TotalLaps", [None] * len(lap_count.get("Time", []))),
            strict=False,
        ):
            secs = _seconds(t)
            if secs is None:
                self.skipped["lap count without time"] += 1
                continue
            yield SessionEvent(
                session_key=self.key,
                event_time=self.at(secs),
                kind="lap_count",
                current_lap=_int(current),
                total_laps=_int(total_laps),
            )

    def lap_events(self) -> Iterable[Envelope]:
        laps = self.ses.laps
        for row in laps.itertuples(index=False):
            t = _seconds(row.Time)
            if t is None:
                t = _seconds(row.LapStartTime)
                if t is None:
                    self.skipped["lap without end or start time"] += 1
                    continue
                t += _seconds(row.LapTime) or 0.0
            lap_number = _int(row.LapNumber)
            if lap_number is None or not _str(row.Driver):
                self.skipped["lap without driver or lap number"] += 1
                continue
            yield LapEvent(
                session_key=self.key,
                event_time=self.at(t),
                driver=str(row.Driver),
                driver_number=_str(row.DriverNumber),
                team=_str(row.Team),
                lap_number=lap_number,
                lap_time=_seconds(row.LapTime),
                sector1=_seconds(row.Sector1Time),
                sector2=_seconds(row.Sector2Time),
                sector3=_seconds(row.Sector3Time),
                compound=_str(row.Compound),
                tyre_life=_seconds(row.TyreLife),
                fresh_tyre=_bool(row.FreshTyre),
                stint=_int(row.Stint),
                pit_in=not pd.isna(row.PitInTime),
                pit_out=not pd.isna(row.PitOutTime),
                pit_in_time=_seconds(row.PitInTime),
                pit_out_time=_seconds(row.PitOutTime),
                position=_int(row.Position),
                track_status=_str(row.TrackStatus),
                is_accurate=_bool(row.IsAccurate),
                deleted=_bool(row.Deleted),
                lap_start_time=_seconds(row.LapStartTime),
                speed_trap=_seconds(row.SpeedST),
            )

    def stint_events(self) -> Iterable[Envelope]:
        """A stint starts at the pit exit (or the lap start) of its first lap."""
        laps = self.ses.laps
        for (driver, stint), group in laps.groupby(["Driver", "Stint"], sort=False):
            first = group.sort_values("LapNumber").iloc[0]
            t = _seconds(first.PitOutTime) or _seconds(first.LapStartTime)
            if t is None:
                self.skipped["stint without start time"] += 1
                continue
            life = _seconds(first.TyreLife)
            yield StintEvent(
                session_key=self.key,
                event_time=self.at(t),
                driver=str(driver),
                stint=int(stint),
                compound=_str(first.Compound),
                new=_bool(first.FreshTyre),
                tyre_age_at_start=None if life is None else max(int(life) - 1, 0),
                lap_number=_int(first.LapNumber),
            )
        no_stint = int(laps["Stint"].isna().sum())
        if no_stint:
            self.skipped["laps without stint number (no stint event)"] += no_stint

    def timing_events(self) -> Iterable[Envelope]:
        data = self.loaded.stream_data
        for row in data.itertuples(index=False):
            t = _seconds(row.Time)
            driver = self.tla.get(str(row.Driver), _str(row.Driver))
            if t is None or driver is None:
                self.skipped["timing row without time or driver"] += 1
                continue
            gap, gap_text = parse_gap(_plain(row.GapToLeader))
            interval, interval_text = parse_gap(_plain(row.IntervalToPositionAhead))
            if interval_text and interval_text.upper().startswith("LAP"):
                interval = 0.0
            yield TimingEvent(
                session_key=self.key,
                event_time=self.at(t),
                driver=driver,
                position=_int(row.Position),
                gap_to_leader=gap,
                gap_to_leader_text=gap_text,
                interval=interval,
                interval_text=interval_text,
            )

    def track_status_events(self) -> Iterable[Envelope]:
        ts = self.ses.track_status
        for row in ts.itertuples(index=False) if ts is not None else []:
            t = _seconds(row.Time)
            code = _str(row.Status)
            if t is None or code is None:
                self.skipped["track status without time or code"] += 1
                continue
            yield TrackStatusEvent(
                session_key=self.key,
                event_time=self.at(t),
                status=code,
                state=TRACK_STATUS_CODES.get(code, TrackState.UNKNOWN),
                message=_str(row.Message),
            )

    def race_control_events(self) -> Iterable[Envelope]:
        rcm = self.ses.race_control_messages
        for row in rcm.itertuples(index=False) if rcm is not None else []:
            message = _str(row.Message)
            when = row.Time
            if message is None or pd.isna(when):
                self.skipped["race-control message without text or time"] += 1
                continue
            utc = pd.Timestamp(when).to_pydatetime().replace(tzinfo=UTC)
            t = (utc - self.t0_utc).total_seconds() if self.t0_utc else 0.0
            sector = _int(getattr(row, "Sector", None))
            yield RaceControlEvent(
                session_key=self.key,
                event_time=EventTime(session_time=round(t, 3), utc=utc),
                category=_str(row.Category),
                message=message,
                flag=_str(getattr(row, "Flag", None)),
                scope=_str(getattr(row, "Scope", None)),
                sector=sector,
                racing_number=_str(getattr(row, "RacingNumber", None)),
                lap=_int(getattr(row, "Lap", None)),
                status=_str(getattr(row, "Status", None)),
            )

    def telemetry_events(self) -> Iterable[Envelope]:
        """Car data and position samples, where the source has them (parquet exports)."""
        tel = self.loaded.telemetry
        if tel is None or len(tel) == 0:
            return
        frame = telemetry_frame(tel, self.telemetry_every)
        missing = int(tel["SessionTime"].isna().sum())
        if missing:
            self.skipped["telemetry sample without session time"] += missing
        if len(tel) - missing > len(frame):
            reason = f"telemetry samples thinned to 1 in {self.telemetry_every} (--telemetry-every)"
            self.skipped[reason] += len(tel) - missing - len(frame)
        cols = ["t", "Driver", "Speed", "RPM", "nGear", "Throttle", "Brake", "DRS", "Distance"]
        cols += ["X", "Y", "Z"]
        key = self.key
        t0 = self.t0_utc
        for t, drv, speed, rpm, gear, thr, brake, drs, dist, x, y, z in zip(
            *(frame[c].to_numpy() for c in cols), strict=True
        ):
            t = round(float(t), 3)
            yield telemetry_event(
                key,
                EventTime.model_construct(
                    session_time=t, utc=t0 + timedelta(seconds=t) if t0 else None
                ),
                str(drv),
                speed=float(speed),
                rpm=float(rpm),
                gear=int(gear),
                throttle=float(thr),
                brake=bool(brake),
                drs=int(drs),
                distance=float(dist),
                x=float(x),
                y=float(y),
                z=float(z),
            )

    def weather_events(self) -> Iterable[Envelope]:
        try:
            weather = self.ses.weather_data
        except Exception:
            return
        for row in weather.itertuples(index=False) if weather is not None else []:
            t = _seconds(row.Time)
            if t is None:
                self.skipped["weather sample without time"] += 1
                continue
            yield WeatherEvent(
                session_key=self.key,
                event_time=self.at(t),
                air_temp=_seconds(row.AirTemp),
                track_temp=_seconds(row.TrackTemp),
                humidity=_seconds(row.Humidity),
                pressure=_seconds(row.Pressure),
                rainfall=_bool(row.Rainfall),
                wind_direction=_seconds(row.WindDirection),
                wind_speed=_seconds(row.WindSpeed),
            )
