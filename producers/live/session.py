"""Naming a live session the way replays name it: '2026-australian-R'."""

from __future__ import annotations

import re
from typing import Any

from schemas.session_keys import CODE_OF_NAME, fold, session_key


def session_key_from_info(info: dict[str, Any]) -> str | None:
    """The session key from a SessionInfo message, or None when it lacks the fields."""
    meeting = info.get("Meeting") if isinstance(info.get("Meeting"), dict) else {}
    name, start = meeting.get("Name"), info.get("StartDate")
    if not name or not isinstance(start, str) or len(start) < 4 or not start[:4].isdigit():
        return None
    session = str(info.get("Name") or info.get("Type") or "")
    code = CODE_OF_NAME.get(fold(session), re.sub(r"[^A-Za-z0-9]+", "", session) or "X")
    return session_key(start[:4], str(name), code)
