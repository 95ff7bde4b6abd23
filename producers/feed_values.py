"""Reading the values of a timing feed: one rule for each kind of value, whatever the source.

The live feed (JSON values) and a replayed session (FastF1's columns, through
``replay.event_builder``, which first turns pandas' missing values into None) both report
numbers, text and gaps the same way; these functions read them so that a live and a replayed
event of the same moment hold the same values. Anything that cannot be read is None.
"""

from __future__ import annotations

from typing import Any


def as_int(value: Any) -> int | None:
    """``12``, ``"12"``, ``12.7`` -> 12; anything else None."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def as_float(value: Any) -> float | None:
    """``1.5``, ``"1.5"`` -> 1.5; anything else None."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def as_str(value: Any) -> str | None:
    """The value as stripped text; None for None and blank text."""
    if value is None:
        return None
    s = str(value).strip()
    return s or None


def parse_gap(text: Any) -> tuple[float | None, str | None]:
    """A gap as timing shows it, in seconds and as shown: '+1.234' -> 1.234; 'LAP 5' (the
    leader) -> 0.0; '+1 LAP' -> None (lapped)."""
    s = as_str(text)
    if s is None:
        return None, None
    if s.upper().startswith("LAP"):
        return 0.0, s
    try:
        return float(s.lstrip("+")), s
    except ValueError:
        return None, s
