"""Team colours: the source's own where it carries them, else the liveries of FastF1's
2023-2025 seasons."""

from __future__ import annotations

import pandas as pd

#: Team colours for sources that do not carry them (FastF1's 2023-2025 liveries).
TEAM_COLOURS = {
    "Red Bull Racing": "3671C6",
    "Ferrari": "E8002D",
    "Mercedes": "27F4D2",
    "McLaren": "FF8000",
    "Aston Martin": "229971",
    "Alpine": "0093CC",
    "Williams": "64C4FF",
    "AlphaTauri": "5E8FAA",
    "RB": "6692FF",
    "Racing Bulls": "6692FF",
    "Alfa Romeo": "C92D4B",
    "Kick Sauber": "52E252",
    "Haas F1 Team": "B6BABD",
}


def team_colour(drivers: pd.DataFrame, team: str | None) -> str | None:
    """``#rrggbb`` of ``team``: its ``team_colour`` in ``drivers`` (driver, team, team_colour
    columns) when the source has one, else ``TEAM_COLOURS``; None when neither knows it."""
    d = drivers
    raw = d[d["team"] == team]["team_colour"].dropna() if team else pd.Series(dtype=str)
    hexa = str(raw.iloc[0]) if len(raw) and str(raw.iloc[0]) else TEAM_COLOURS.get(team or "")
    return f"#{hexa}" if hexa else None
