"""What a finished replay published, as the table ``simulate_live`` and ``pitwall demo``
print: events per topic (named for what they are), the rate, what was skipped and why."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from replay.simulate import Summary
from schemas.topics import (
    LAPS,
    RACE_CONTROL,
    SESSION,
    STINTS,
    TELEMETRY,
    TIMING,
    TRACK_STATUS,
    WEATHER,
)

#: What one event of each topic is called in the summary.
NOUNS = {
    SESSION.name: "session updates",
    LAPS.name: "laps",
    TIMING.name: "timing updates",
    STINTS.name: "stints",
    TRACK_STATUS.name: "track status changes",
    RACE_CONTROL.name: "race-control messages",
    WEATHER.name: "weather samples",
    TELEMETRY.name: "telemetry samples",
}


def print_summary(summary: Summary, console: Console) -> None:
    """Print the replay's summary table and figures on ``console``."""
    table = Table(title=f"Replay of {summary.session_key}", show_lines=False)
    table.add_column("topic")
    table.add_column("published", justify="right")
    for topic, count in sorted(summary.published.items()):
        table.add_row(topic, f"{count:,} {NOUNS.get(topic, 'events')}")
    table.add_row("[bold]total", f"[bold]{summary.total:,} events")
    console.print(table)
    console.print(
        f"{summary.total:,} events in {summary.seconds:.1f} s "
        f"({summary.events_per_second:,.0f} events/s), max lag {summary.max_lag:.2f} s"
    )
    if summary.skipped:
        console.print("[yellow]Skipped (not publishable):[/]")
        for reason, n in summary.skipped.most_common():
            console.print(f"  {n:,} {reason}")
    else:
        console.print("Skipped: nothing.")
    if summary.interrupted:
        console.print("[yellow]Interrupted:[/] the replay stopped before the end of the session.")
