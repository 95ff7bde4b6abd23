"""The insight payloads of a session: consistency, team mates head to head, track evolution."""

from __future__ import annotations

from typing import Any

from analytics import consistency, evolution, head_to_head
from analytics.numbers import records
from analytics.session import SessionLaps


def consistency_insight(s: SessionLaps) -> dict[str, Any]:
    return {**s.ref(), "drivers": records(consistency.consistency(s.laps, race=s.race))}


def head_to_head_insight(s: SessionLaps) -> dict[str, Any]:
    return {**s.ref(), "pairs": head_to_head.head_to_head(s.laps, race=s.race)}


def evolution_insight(s: SessionLaps) -> dict[str, Any]:
    return {**s.ref(), **evolution.track_evolution(s.laps, race=s.race)}
