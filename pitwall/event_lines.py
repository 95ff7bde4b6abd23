"""One readable line per event, whatever its topic (what ``pitwall tail`` prints).

``summary`` says what matters of each kind in a few words, e.g. a lap as
``VER L12 1:36.296 SOFT(5) P1`` and a strategy update as its leader lap, track state and the
top calls; ``line`` puts the session time (and the session, unless told to leave it out) in
front.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from schemas import (
    BattlesEvent,
    DegradationEvent,
    DlqEvent,
    DriverStrategy,
    Envelope,
    FeaturesEvent,
    LapEvent,
    RaceControlEvent,
    SessionEvent,
    StintEvent,
    StrategyEvent,
    TelemetryEvent,
    TimingEvent,
    TrackStatusEvent,
    WeatherEvent,
)

#: Drivers a strategy line names besides those told to pit now.
STRATEGY_TOP = 3
#: Battles a battles line names (the likeliest passes within 3 laps).
BATTLES_TOP = 3


def lap_time(seconds: float | None) -> str:
    """A lap or sector time as timing screens show it: ``1:36.296``, ``58.104``."""
    if seconds is None:
        return "no time"
    minutes, rest = divmod(round(seconds, 3), 60)
    return f"{int(minutes)}:{rest:06.3f}" if minutes else f"{rest:.3f}"


def clock(seconds: float) -> str:
    """Session time as ``h:mm:ss``."""
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def _gap(seconds: float | None, text: str | None = None) -> str:
    if seconds is not None:
        return f"+{seconds:.3f}"
    return text or "-"


def _tyre(compound: str | None, age: float | None) -> str:
    name = compound or "?"
    return f"{name}({int(age)})" if age is not None else name


def _position(position: int | None) -> str:
    return f"P{position}" if position is not None else "P?"


def _session(e: SessionEvent) -> str:
    if e.kind == "lap_count":
        return f"lap {e.current_lap}/{e.total_laps or '?'}"
    if e.kind == "status":
        return f"status {e.status}"
    what = " ".join(str(x) for x in (e.year, e.event_name, e.session_name) if x)
    drivers = f", {len(e.drivers)} drivers" if e.drivers else ""
    laps = f", {e.total_laps} laps" if e.total_laps else ""
    return f"info {what}{drivers}{laps}"


def _lap(e: LapEvent) -> str:
    parts = [e.driver, f"L{e.lap_number}", lap_time(e.lap_time)]
    parts += [_tyre(e.compound, e.tyre_life), _position(e.position)]
    parts += [flag for flag, on in (("PIT-IN", e.pit_in), ("PIT-OUT", e.pit_out)) if on]
    if e.deleted:
        parts.append("deleted")
    return " ".join(parts)


def _timing(e: TimingEvent) -> str:
    gap = _gap(e.gap_to_leader, e.gap_to_leader_text)
    interval = _gap(e.interval, e.interval_text)
    return f"{e.driver} {_position(e.position)} gap {gap} int {interval}"


def _stint(e: StintEvent) -> str:
    new = {True: "new", False: "used", None: ""}[e.new]
    age = f" age {e.tyre_age_at_start}" if e.tyre_age_at_start is not None else ""
    start = f" from L{e.lap_number}" if e.lap_number is not None else ""
    return f"{e.driver} stint {e.stint} {e.compound or '?'} {new}{age}{start}".replace("  ", " ")


def _track_status(e: TrackStatusEvent) -> str:
    return f"track {e.state.value.upper()}" + (f" {e.message}" if e.message else "")


def _race_control(e: RaceControlEvent) -> str:
    lap = f"L{e.lap} " if e.lap is not None else ""
    flag = f"[{e.flag}] " if e.flag else ""
    return f"race control {lap}{flag}{e.message}"


#: (field, format) of the measurements a weather or telemetry line shows, when present.
WEATHER_FIELDS = (
    ("air_temp", "air {:.1f}°C"),
    ("track_temp", "track {:.1f}°C"),
    ("humidity", "humidity {:.0f}%"),
    ("wind_speed", "wind {:.1f} m/s"),
)
TELEMETRY_FIELDS = (
    ("speed", "{:.0f} km/h"),
    ("rpm", "{:.0f} rpm"),
    ("gear", "gear {}"),
    ("throttle", "throttle {:.0f}%"),
    ("drs", "DRS {}"),
)


def _present(event: Envelope, fields: tuple[tuple[str, str], ...]) -> list[str]:
    """Each of ``fields`` that ``event`` has, through its format."""
    return [fmt.format(v) for name, fmt in fields if (v := getattr(event, name)) is not None]


def _weather(e: WeatherEvent) -> str:
    parts = _present(e, WEATHER_FIELDS)
    if e.rainfall is not None:
        parts.append("rain" if e.rainfall else "dry")
    return "weather " + (" ".join(parts) or "-")


def _telemetry(e: TelemetryEvent) -> str:
    parts = [e.driver, *_present(e, TELEMETRY_FIELDS)]
    if e.brake:
        parts.append("brake")
    if e.x is not None and e.y is not None:
        parts.append(f"at ({e.x:.0f}, {e.y:.0f})")
    return " ".join(parts)


def _features(e: FeaturesEvent) -> str:
    pace = lap_time(e.stint_pace) if e.stint_pace is not None else "-"
    fuel = lap_time(e.fuel_corrected_lap_time) if e.fuel_corrected_lap_time is not None else "-"
    traffic = " in traffic" if e.in_traffic else ""
    return (
        f"{e.driver} L{e.lap_number} {_tyre(e.compound, e.tyre_life)} {_position(e.position)} "
        f"fuel-corrected {fuel} stint pace {pace}{traffic}"
    )


def _degradation(e: DegradationEvent) -> str:
    nxt = " ".join(lap_time(t) for t in e.predicted_laps[:3])
    return (
        f"{e.driver} L{e.lap_number} {_tyre(e.compound, e.tyre_life)} "
        f"{e.slope:+.3f} s/lap (±{e.slope_std:.3f}, {e.laps_in_fit} laps)"
        + (f" next {nxt}" if nxt else "")
    )


def _call(d: DriverStrategy) -> str:
    if d.pit_now:
        advice = f"PIT NOW for {d.recommended_compound or '?'}"
    elif d.pit_window is not None:
        w = d.pit_window
        advice = f"pit L{w.open_lap}-{w.close_lap} for {d.recommended_compound or '?'}"
    else:
        advice = "stay out"
    return f"{d.driver} {_position(d.position)} win {d.win_prob:.0%} {advice}"


def _strategy(e: StrategyEvent) -> str:
    ranked = sorted(e.recommendations, key=lambda d: (d.position is None, d.position or 0))
    shown = ranked[:STRATEGY_TOP]
    shown += [d for d in ranked[STRATEGY_TOP:] if d.pit_now]
    laps = f"L{e.lap}/{e.laps_total}" if e.laps_total else f"L{e.lap}"
    head = f"strategy {laps} {e.track_status.value.upper()} ({e.trigger}"
    head += f" {e.trigger_driver})" if e.trigger_driver else ")"
    return f"{head}: " + "; ".join(_call(d) for d in shown)


def _battles(e: BattlesEvent) -> str:
    likeliest = sorted(e.pairs, key=lambda p: -p.p_pass_3)[:BATTLES_TOP]
    calls = [
        f"{p.behind} on {p.ahead} P{p.position} {_gap(p.gap)} {p.p_pass_3:.0%} in 3"
        for p in likeliest
    ]
    return f"battles L{e.lap}: " + ("; ".join(calls) if calls else "no pairs")


def _dlq(e: DlqEvent) -> str:
    where = f" {e.message_key}" if e.message_key else ""
    return f"dead letter from {e.source}{where}: {e.reason}"


SUMMARIES: dict[type[Envelope], Callable[[Any], str]] = {
    SessionEvent: _session,
    LapEvent: _lap,
    TimingEvent: _timing,
    StintEvent: _stint,
    TrackStatusEvent: _track_status,
    RaceControlEvent: _race_control,
    WeatherEvent: _weather,
    TelemetryEvent: _telemetry,
    FeaturesEvent: _features,
    DegradationEvent: _degradation,
    StrategyEvent: _strategy,
    BattlesEvent: _battles,
    DlqEvent: _dlq,
}


def summary(event: Envelope) -> str:
    """What the event says, in a few words."""
    describe = SUMMARIES.get(type(event))
    return describe(event) if describe else event.type


def line(event: Envelope, *, with_session: bool = True) -> str:
    """``h:mm:ss  [session]  summary``: one event on one line."""
    when = clock(event.event_time.session_time)
    where = f"{event.session_key}  " if with_session else ""
    return f"{when}  {where}{summary(event)}"
