"""What can be replayed: the events of a season and the sessions in the FastF1 cache.

Matching is strict (an unknown name is an error listing what exists), unlike FastF1's
fuzzy event lookup which would silently pick some other race.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from replay.errors import UnknownSessionError
from schemas.session_keys import CODE_OF_NAME, SESSION_CODES, fold


def session_code(session: str) -> str:
    """'R', 'race', 'Race' -> 'R'; raise with the accepted values otherwise."""
    s = session.strip()
    if s.upper() in SESSION_CODES:
        return s.upper()
    if s.lower() in CODE_OF_NAME:
        return CODE_OF_NAME[s.lower()]
    accepted = ", ".join(f"{k} ({v})" for k, v in SESSION_CODES.items())
    raise UnknownSessionError(f"unknown session {session!r}; use one of: {accepted}")


@dataclass(frozen=True)
class EventInfo:
    """One event of a season's schedule."""

    year: int
    round: int
    event_name: str
    location: str
    country: str
    sessions: dict[str, str]  # session name -> local start (ISO)
    gmt_offset: str | None

    def matches(self, query: str) -> bool:
        q = fold(query)
        if q.isdigit():
            return int(q) == self.round
        names = [fold(self.event_name), fold(self.location), fold(self.country)]
        return any(q == n or q in n.split(" grand prix")[0] for n in names if n)


def load_schedule(schedule_dir: Path, year: int) -> list[EventInfo]:
    """The season's events from FastF1's schedule file (testing excluded)."""
    path = schedule_dir / f"schedule_{year}.json"
    if not path.exists():
        years = sorted(p.stem.split("_")[1] for p in schedule_dir.glob("schedule_*.json"))
        raise UnknownSessionError(
            f"no schedule for {year}; seasons available offline: {', '.join(years) or 'none'}"
        )
    raw = json.loads(path.read_text())
    events = []
    for idx in raw["round_number"]:
        rnd = int(raw["round_number"][idx])
        if rnd == 0:
            continue
        sessions = {}
        for n in range(1, 6):
            name = raw.get(f"session{n}", {}).get(idx)
            if name:
                sessions[name] = raw.get(f"session{n}_date", {}).get(idx)
        events.append(
            EventInfo(
                year=year,
                round=rnd,
                event_name=raw["event_name"][idx],
                location=raw["location"][idx],
                country=raw["country"][idx],
                sessions=sessions,
                gmt_offset=raw.get("gmt_offset", {}).get(idx),
            )
        )
    return events


def cached_sessions(cache_dir: Path, year: int) -> dict[str, list[str]]:
    """Event folder name -> session names present in the FastF1 cache for ``year``."""
    out: dict[str, list[str]] = {}
    year_dir = cache_dir / str(year)
    if not year_dir.is_dir():
        return out
    for event_dir in sorted(year_dir.iterdir()):
        if event_dir.is_dir():
            out[event_dir.name] = sorted(
                d.name.split("_", 1)[1].replace("_", " ") for d in event_dir.iterdir() if d.is_dir()
            )
    return out


def find_event(events: list[EventInfo], query: str) -> EventInfo:
    """The one event matching ``query`` (name, location, country or round)."""
    hits = [e for e in events if e.matches(query)]
    exact = [e for e in hits if fold(query) in (fold(e.event_name), fold(e.location))]
    hits = exact or hits
    if len(hits) == 1:
        return hits[0]
    listing = ", ".join(f"{e.round}: {e.event_name}" for e in events)
    if not hits:
        year = events[0].year if events else "?"
        raise UnknownSessionError(f"no {year} event matches {query!r}. Events: {listing}")
    names = ", ".join(e.event_name for e in hits)
    raise UnknownSessionError(
        f"{query!r} is ambiguous ({names}); use the round number or full name"
    )
