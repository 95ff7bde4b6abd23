"""The session key every event carries, e.g. ``2023-monaco-R``: one rule for every source.

``<year>-<event slug>-<session code>``. A replayed session and the live feed of the same
session must name it alike, so both build the key here.
"""

from __future__ import annotations

import re
import unicodedata

#: Session codes and the session names F1 and FastF1 give them.
SESSION_CODES: dict[str, str] = {
    "R": "Race",
    "Q": "Qualifying",
    "S": "Sprint",
    "SQ": "Sprint Qualifying",
    "SS": "Sprint Shootout",
    "FP1": "Practice 1",
    "FP2": "Practice 2",
    "FP3": "Practice 3",
}


def fold(text: str) -> str:
    """Lower-case ASCII with single spaces: 'São Paulo' -> 'sao paulo'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", " ", ascii_text.lower()).strip()


#: A session's folded name -> its code: 'sprint qualifying' -> 'SQ'.
CODE_OF_NAME: dict[str, str] = {fold(name): code for code, name in SESSION_CODES.items()}


def event_slug(event_name: str) -> str:
    """'São Paulo Grand Prix' -> 'sao-paulo'."""
    name = re.sub(r"\bgrand prix\b", "", fold(event_name)).strip()
    return name.replace(" ", "-") or "event"


def session_key(year: int | str, event_name: str, code: str) -> str:
    """The session key of ``code`` (e.g. 'R') at the event ``event_name`` of ``year``."""
    return f"{year}-{event_slug(event_name)}-{code}"
