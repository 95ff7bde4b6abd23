"""Declared query and path parameters of the analytics endpoints, with clear 422 messages."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import HTTPException, Path, Query

SESSION_PATTERN = r"^[0-9]{4}-[A-Za-z0-9][A-Za-z0-9-]*$"  # as api.deps.SESSION_KEY_RE
DRIVER_PATTERN = r"^[A-Z]{3}$"
#: 1 to 6 codes (compare) and exactly 2 (a telemetry comparison): the counts are in the schema.
DRIVERS_PATTERN = r"^[A-Z]{3}(,[A-Z]{3}){0,5}$"
TWO_DRIVERS_PATTERN = r"^[A-Z]{3},[A-Z]{3}$"
_DRIVER = re.compile(DRIVER_PATTERN)

SessionQuery = Annotated[
    str,
    Query(
        description="Session key: year, event and session, e.g. 2023-monaco-R, 2025-australian-Q.",
        pattern=SESSION_PATTERN,
        max_length=100,
        examples=["2023-monaco-R"],
    ),
]
SessionPath = Annotated[
    str,
    Path(
        description="Session key, e.g. 2025-australian-R.",
        pattern=SESSION_PATTERN,
        max_length=100,
        examples=["2025-australian-R"],
    ),
]
DriverPath = Annotated[
    str, Path(description="Three-letter code, e.g. VER.", pattern=DRIVER_PATTERN)
]
LapPath = Annotated[int, Path(ge=1, le=200, description="Lap number.")]
LapQuery = Annotated[int | None, Query(ge=1, le=200)]


def driver_list(text: str, *, distinct: bool = True) -> list[str]:
    """'VER,ALO' -> ['VER', 'ALO']: the upper-case three-letter codes the declared pattern
    admits, a code given twice kept once (``distinct``) or kept twice (two laps of one
    driver)."""
    drivers = [d.strip() for d in text.split(",") if d.strip()]
    bad = [d for d in drivers if not _DRIVER.match(d)]
    if bad:
        raise HTTPException(
            422, f"drivers: {', '.join(bad)} not a three-letter code in capitals (e.g. VER,ALO)"
        )
    return list(dict.fromkeys(drivers)) if distinct else drivers


def lap_range(from_lap: int | None, to_lap: int | None) -> None:
    if from_lap is not None and to_lap is not None and from_lap > to_lap:
        raise HTTPException(422, f"from_lap ({from_lap}) is after to_lap ({to_lap})")
