"""The progress bar of a replay or a playback: its title, the bar, its own figures, the time."""

from __future__ import annotations

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn


def progress_bar(*fields: str, enabled: bool = True) -> Progress:
    """A bar showing the task's description, ``fields`` (format strings over ``task``, e.g.
    ``"lap {task.fields[lap]}"``) and the time elapsed; ``enabled=False`` shows nothing."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        *(TextColumn(f) for f in fields),
        TimeElapsedColumn(),
        disable=not enabled,
    )
