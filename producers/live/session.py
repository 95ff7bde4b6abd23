"""Naming a live session the way replays name it: '2026-australian-R'."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

#: F1's session names and pitwall's session codes.
SESSION_CODES: dict[str, str] = {
    "race": "R",
    "qualifying": "Q",
    "sprint": "S",
    "sprint qualifying": "SQ",
    "sprint shootout": "SS",
    "practice 1": "FP1",
    "practice 2": "FP2",
    "practice 3": "FP3",
}


def _fold(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", " ", ascii_text.lower()).strip()


def event_slug(event_name: str) -> str:
    """'São Paulo Grand Prix' -> 'sao-paulo' (the same slug as replays use)."""
    name = re.sub(r"\bgrand prix\b", "", _fold(event_name)).strip()
    return name.replace(" ", "-") or "event"


def session_key_from_info(info: dict[str, Any]) -> str | None:
    """The session key from a SessionInfo message, or None when it lacks the fields."""
    meeting = info.get("Meeting") if isinstance(info.get("Meeting"), dict) else {}
    name, start = meeting.get("Name"), info.get("StartDate")
    if not name or not isinstance(start, str) or len(start) < 4 or not start[:4].isdigit():
        return None
    session = str(info.get("Name") or info.get("Type") or "")
    code = SESSION_CODES.get(_fold(session), re.sub(r"[^A-Za-z0-9]+", "", session) or "X")
    return f"{start[:4]}-{event_slug(str(name))}-{code}"
