"""One session as the analyses see it: its lap table, who ran it, and how a payload names it
(the session reference, and the drivers with their teams and colours).

The lap table has the columns of ``strategy.laptable.lap_table`` after ``finish_laps``, with the
``clean`` column of ``analytics.laps.with_clean``; ``drivers`` has driver, number, team and
team_colour. Loading either is the caller's business (the API loads them through the replay's
loader or from the laps the sink stored).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from analytics.colours import team_colour
from analytics.errors import NotInSession
from analytics.laps import RACE_CODES


@dataclass
class SessionLaps:
    """A session's lap table and drivers, with the names a payload gives it."""

    session_key: str
    event_name: str
    session_name: str
    code: str  # R, S, Q, SQ, FP1...
    drivers: pd.DataFrame
    laps: pd.DataFrame
    source: str = "archive"  # or "live": the laps stored so far of a session being run

    @property
    def race(self) -> bool:
        return self.code in RACE_CODES

    def ref(self) -> dict[str, Any]:
        return {
            "session": self.session_key,
            "event": self.event_name,
            "session_name": self.session_name,
            "kind": "race" if self.race else "timed",
            "laps_source": self.source,
        }

    def colour(self, team: str | None) -> str | None:
        return team_colour(self.drivers, team)

    def driver_refs(self, drivers: list[str] | None = None) -> list[dict[str, Any]]:
        d = self.drivers
        names = drivers or [x for x in d["driver"] if x in set(self.laps["driver"])]
        teams = dict(zip(d["driver"], d["team"], strict=False))
        return [
            {"driver": n, "team": teams.get(n), "colour": self.colour(teams.get(n))} for n in names
        ]

    def require_drivers(self, drivers: list[str]) -> None:
        """Raises ``NotInSession`` naming the drivers who did not run, and those who did."""
        ran = set(self.laps["driver"])
        missing = [d for d in drivers if d not in ran]
        if missing:
            raise NotInSession(
                f"{', '.join(missing)} did not run in {self.session_key}; drivers: "
                f"{', '.join(sorted(ran))}"
            )
