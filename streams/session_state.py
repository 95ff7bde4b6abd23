"""Per-session and per-driver live state kept in the worker's tables, and what it feeds.

Plain dicts (they go through Faust's changelogs as JSON): ``SessionState`` holds what the
session knows (lap count, circuit, track status), ``DriverRow`` the latest of each car
(position, gaps, tyres, the clean laps of its stint). Functions here turn them into the race
model's inputs (``RaceState``, ``OnlineDegradation``) and the derived events.
"""

from __future__ import annotations

import statistics
from typing import Any

from schemas import (
    FeaturesEvent,
    LapEvent,
    SessionEvent,
    StintEvent,
    TimingEvent,
    TrackStatusEvent,
)
from strategy.data import DRY, circuit_slug
from strategy.degradation import OnlineDegradation
from strategy.fuel import fuel_corrected
from strategy.race_state import DriverState, RaceState

TRAFFIC_GAP_S = 1.5  # a car closer than this behind another is in its dirty air
PACE_LAPS = 5


def new_session(session_key: str) -> dict[str, Any]:
    return {
        "session_key": session_key,
        "laps_total": None,
        "circuit": session_key.split("-", 1)[-1].rsplit("-", 1)[0],
        "year": int(session_key[:4]) if session_key[:4].isdigit() else 0,
        "track_status": "green",
        "leader_lap": 0,
        "drivers": [],
        "crossings": {},  # lap number (str) -> session time the leader completed it
    }


def new_driver(driver: str) -> dict[str, Any]:
    return {
        "driver": driver,
        "team": None,
        "position": None,
        "gap": None,
        "interval": None,
        "last_lap": 0,
        "last_lap_time": None,
        "compound": None,
        "tyre_age": None,
        "stint": None,
        "stops": 0,
        "compounds_used": [],
        "stint_laps": [],  # [tyre age, fuel-corrected time] of the stint's clean laps
        #: fuel-corrected times of the last clean laps (any stint on the same kind of tyre)
        "clean_recent": [],
        "retired": False,
    }


def apply_session(s: dict[str, Any], e: SessionEvent) -> None:
    if e.total_laps:
        s["laps_total"] = e.total_laps
    if e.kind == "info":
        s["year"] = e.year or s["year"]
        if e.event_name:
            s["circuit"] = circuit_slug(e.event_name)


def apply_track_status(s: dict[str, Any], e: TrackStatusEvent) -> bool:
    """Update; True when the change matters for strategy (SC, VSC, red, or back to green)."""
    before = s["track_status"]
    state = e.state.value
    if state in ("yellow", "unknown"):
        return False
    s["track_status"] = state
    return state != before


def apply_timing(d: dict[str, Any], e: TimingEvent) -> None:
    if e.position is not None:
        d["position"] = e.position
    if e.gap_to_leader is not None:
        d["gap"] = e.gap_to_leader
    elif e.position == 1:
        d["gap"] = 0.0
    if e.interval is not None:
        d["interval"] = e.interval


def _new_stint(d: dict[str, Any], stint: int | None) -> bool:
    """Move to ``stint`` if it is newer; False when it is unknown or older (the same stint
    again is harmless). Stops follow the stint number."""
    if stint is None or (d["stint"] is not None and stint < d["stint"]):
        return False
    if d["stint"] is not None and stint > d["stint"]:
        d["stint_laps"] = []
    d["stint"] = stint
    d["stops"] = max(stint - 1, 0)
    return True


def _tyre_kind(compound: str) -> str:
    return "dry" if compound in DRY else compound


def _set_compound(d: dict[str, Any], compound: str | None) -> None:
    """Fit ``compound``. A change between dry tyres, intermediates and wets means the track
    changed, and laps run on the other kind say nothing of the pace to come (at Monaco 2023,
    the dry laps before the rain made the leader look 4 s a lap slower than the car behind
    him), so the recent pace starts over."""
    if not compound:
        return
    if d["compound"] and _tyre_kind(d["compound"]) != _tyre_kind(compound):
        d["clean_recent"] = []
    d["compound"] = compound
    if compound in DRY and compound not in d["compounds_used"]:
        d["compounds_used"].append(compound)


def apply_stint(d: dict[str, Any], e: StintEvent) -> None:
    if e.stint is not None and e.stint == d["stint"]:
        # Its laps came first (another topic), and they know the tyres' age.
        if d["compound"] is None:
            _set_compound(d, e.compound)
        if d["tyre_age"] is None:
            d["tyre_age"] = e.tyre_age_at_start
        return
    if not _new_stint(d, e.stint):
        return  # an older stint, re-read: nothing to change
    _set_compound(d, e.compound)
    if e.tyre_age_at_start is not None:
        d["tyre_age"] = e.tyre_age_at_start


def is_clean(e: LapEvent) -> bool:
    status = e.track_status or "1"
    return (
        e.lap_time is not None
        and e.lap_number > 1
        and not e.pit_in
        and not e.pit_out
        and set(status) <= {"1"}
        and not e.deleted
    )


def apply_lap(s: dict[str, Any], d: dict[str, Any], e: LapEvent) -> bool:
    """Apply a completed lap; False (and nothing changed) for a late or duplicate lap."""
    if e.lap_number <= d["last_lap"]:
        return False
    laps_total = s["laps_total"] or e.lap_number
    # A lap of an earlier stint (laps and stints come on different topics) leaves the tyres.
    current = _new_stint(d, e.stint) or e.stint is None
    if current:
        _set_compound(d, e.compound)
        d["tyre_age"] = e.tyre_life if e.tyre_life is not None else d["tyre_age"]
    d["last_lap"] = e.lap_number
    d["last_lap_time"] = e.lap_time
    d["team"] = e.team or d["team"]
    if e.position is not None:
        d["position"] = e.position
    if current and is_clean(e):
        fc = fuel_corrected(e.lap_time, e.lap_number, laps_total)
        d["stint_laps"].append([e.tyre_life or 0.0, fc])
        d["clean_recent"] = (d["clean_recent"] + [fc])[-PACE_LAPS:]
    s["leader_lap"] = max(s["leader_lap"], e.lap_number)
    # Gaps from the timing line: time behind the first car to complete the same lap.
    t = e.event_time.session_time
    lead = s["crossings"].setdefault(str(e.lap_number), t)
    if t < lead:
        s["crossings"][str(e.lap_number)] = lead = t
    d["gap"] = round(t - lead, 3)
    d["lap_end"] = t
    return True


def stint_pace(d: dict[str, Any]) -> float | None:
    recent = d["clean_recent"]
    return statistics.median(recent) if len(recent) >= 2 else None


def degradation_of(d: dict[str, Any], prior_slope: float | None = None) -> OnlineDegradation:
    deg = OnlineDegradation(d["compound"] or "MEDIUM", prior_slope=prior_slope)
    for age, fc in d["stint_laps"]:
        deg.update(age, fc)
    return deg


def features_event(
    s: dict[str, Any], d: dict[str, Any], e: LapEvent, drivers: dict[str, dict[str, Any]]
) -> FeaturesEvent:
    ahead = behind = None
    if d["position"] is not None and d["gap"] is not None:
        for other in drivers.values():
            if other["gap"] is None or other["position"] is None:
                continue
            if other["position"] == d["position"] - 1:
                ahead = d["gap"] - other["gap"]
            elif other["position"] == d["position"] + 1:
                behind = other["gap"] - d["gap"]
    laps_total = s["laps_total"] or e.lap_number
    return FeaturesEvent(
        session_key=e.session_key,
        event_time=e.event_time,
        driver=d["driver"],
        lap_number=e.lap_number,
        stint=d["stint"],
        compound=d["compound"],
        tyre_life=d["tyre_age"],
        lap_time=e.lap_time,
        fuel_corrected_lap_time=fuel_corrected(e.lap_time, e.lap_number, laps_total)
        if e.lap_time is not None
        else None,
        stint_laps=len(d["stint_laps"]),
        stint_pace=stint_pace(d),
        position=d["position"],
        gap_to_leader=d["gap"],
        gap_ahead=ahead,
        gap_behind=behind,
        in_traffic=ahead is not None and 0 <= ahead < TRAFFIC_GAP_S,
        pit_in=e.pit_in,
        pit_out=e.pit_out,
        track_status=s["track_status"],
        source_produced_at=e.produced_at,
    )


def race_state(s: dict[str, Any], drivers: dict[str, dict[str, Any]]) -> RaceState:
    """The race model's view of the session: cars that have completed a lap, in order."""
    cars = [d for d in drivers.values() if d["last_lap"] > 0 and not d["retired"]]
    leader_lap = s["leader_lap"]
    # Laps of different cars travel on different partitions, so a car may look several laps
    # down only because its laps are still queued: every car that has run stays in.
    cars.sort(key=lambda d: (d["position"] or 99, -d["last_lap"]))
    out = []
    for pos, d in enumerate(cars, start=1):
        gap = d["gap"]
        if gap is None:
            gap = 90.0 * max(leader_lap - d["last_lap"], 0) + pos * 1.0
        out.append(
            DriverState(
                driver=d["driver"],
                position=pos,
                gap_to_leader=float(gap),
                compound=d["compound"] or "UNKNOWN",
                tyre_age=int(d["tyre_age"] or 0),
                stops=d["stops"],
                compounds_used=tuple(d["compounds_used"]),
                pace=stint_pace(d),
                team=d["team"],
            )
        )
    return RaceState(
        s["session_key"],
        s["circuit"],
        s["year"],
        leader_lap,
        max(s["laps_total"] or leader_lap + 1, leader_lap + 1),
        s["track_status"],
        out,
    )
