"""Option values as the commands read them: a replay speed, a range or list of seasons.

Each parser has one home here; a bad value is a ``typer.BadParameter`` (exit code 2, with the
usage) worded as the command has always worded it.
"""

from __future__ import annotations

import typer

from replay.clock import parse_speed


def speed_option(value: str) -> float | None:
    """``--speed``: 'max' -> None (no pacing), '10' or '10x' -> 10.0."""
    try:
        return parse_speed(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def season_list(text: str, *, skip_blank: bool = False) -> list[int]:
    """'2018-2023' or '2021,2022,2023' -> the seasons; ValueError when it is neither.

    ``skip_blank``: items left empty by stray commas ('2021,,2022') are ignored."""
    if "-" in text:
        a, b = text.split("-")
        return list(range(int(a), int(b) + 1))
    return [int(y) for y in text.split(",") if not skip_blank or y.strip()]
