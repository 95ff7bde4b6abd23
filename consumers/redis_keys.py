"""Redis key and channel names of the live state (the API reads what the writer keeps)."""

from __future__ import annotations

SESSIONS = "pitwall:sessions"  # sorted set: session key -> epoch seconds of its last update
HISTORY_CAP = 200


def session_key_name(session_key: str, part: str) -> str:
    """Part: info, standings, track_status, strategy, strategy_history, degradation,
    battles or positions."""
    return f"pitwall:session:{session_key}:{part}"


def live_channel(session_key: str) -> str:
    return f"pitwall:live:{session_key}"
