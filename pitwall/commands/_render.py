"""Presentation the commands share: the spinner of a long step and the update's report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:
    from prerace.refresh import RefreshReport

console = Console(stderr=True)


def spinner() -> Progress:
    """A spinner with the step's description and the time elapsed (on stderr)."""
    return Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
    )


def print_refresh(r: RefreshReport) -> None:
    """What the update after an ingest (or ``pitwall predict refresh``) did."""
    console.print(
        f"ratings rows written: {r.ratings_written:,}; standings filled by the points rules: "
        f"{r.standings_filled:,}; accuracy recorded for {len(r.accuracy_recorded)} "
        "race-moments"
    )
    if r.next_race_id is not None:
        versions = ", ".join(f"{m}: {v}" for m, v in r.model_versions.items()) or "none"
        console.print(
            f"next race {r.next_race_id}: {r.predictions_written} prediction rows written "
            f"(models {versions}); cached in Redis: {r.cached_races or 'no Redis configured'}"
        )
