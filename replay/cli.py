"""``simulate_live``: replay a past session into Kafka as if it were live.

simulate_live 2023 Monaco --speed 10
simulate_live 2023 "Abu Dhabi" --session R --speed max
simulate_live 2023 Silverstone --from-lap 30 --speed 5
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from core.settings import NotConfiguredError, get_settings
from replay.clock import PacingClock
from replay.errors import ReplayError
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

console = Console(stderr=True)
app = typer.Typer(
    add_completion=False, pretty_exceptions_show_locals=False, rich_markup_mode="markdown"
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


def parse_speed(value: str) -> float | None:
    """'max' -> None (no pacing); '10' or '10x' -> 10.0."""
    v = value.strip().lower()
    if v in ("max", "inf", "0"):
        return None
    try:
        speed = float(v.removesuffix("x"))
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a speed: use a number like 10, or 'max'"
        ) from None
    if speed <= 0:
        raise typer.BadParameter("speed must be positive, or 'max'")
    return speed


def _install_pause_controls(clock: PacingClock) -> None:
    """Ctrl-Z (SIGTSTP) pauses, SIGCONT or `fg` resumes; 'p'/space toggles on a terminal."""

    def on_tstp(signum: int, frame: FrameType | None) -> None:
        clock.pause()
        console.print("[yellow]paused[/] (SIGCONT, `kill -CONT`, or 'p' to resume)")

    def on_cont(signum: int, frame: FrameType | None) -> None:
        clock.resume()

    signal.signal(signal.SIGTSTP, on_tstp)
    signal.signal(signal.SIGCONT, on_cont)
    if sys.stdin.isatty():
        threading.Thread(target=_keypresses, args=(clock,), daemon=True).start()


def _keypresses(clock: PacingClock) -> None:
    import termios
    import tty

    fd = sys.stdin.fileno()
    with contextlib.suppress(termios.error):
        old = termios.tcgetattr(fd)
        try:
            tty.setcbreak(fd)
            while True:
                ch = sys.stdin.read(1)
                if ch in ("p", "P", " "):
                    clock.toggle()
                if not ch:
                    return
        finally:
            termios.tcsetattr(fd, termios.TCSADRAIN, old)


def print_summary(summary: Summary) -> None:
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


@app.command()
def simulate_live(
    year: Annotated[int, typer.Argument(help="Season, e.g. 2023.")],
    event: Annotated[str, typer.Argument(help="Event name, location, country or round number.")],
    session: Annotated[
        str, typer.Option("--session", "-s", help="R, Q, S, SQ, FP1, FP2 or FP3.")
    ] = "R",
    speed: Annotated[
        str,
        typer.Option(help="Session seconds per wall second: 1 (real time), 10, ... or 'max'."),
    ] = "10",
    from_lap: Annotated[
        int | None,
        typer.Option(
            "--from-lap",
            min=1,
            help="Fast-forward to the start of this lap, then pace (1: skip the hour of "
            "pre-race feed and start at lights out).",
        ),
    ] = None,
    session_key: Annotated[
        str | None, typer.Option(help="Publish under another session key (e.g. a second copy).")
    ] = None,
    telemetry_every: Annotated[
        int,
        typer.Option(
            "--telemetry-every",
            min=1,
            help="Publish every Nth car-telemetry sample (races with telemetry, e.g. 2025 "
            "Australia: 754k samples at ~7.5 Hz per car).",
        ),
    ] = 1,
    create_topics: Annotated[
        bool, typer.Option(help="Create pitwall's topics first if they do not exist.")
    ] = True,
) -> None:
    """Replay a past F1 session into Kafka as if it were live.

    Events (laps, timing, stints, track status, race control, weather, session status, and
    car telemetry where the source has it) are
    published in session-time order, paced by session time divided by SPEED. Ctrl-Z pauses
    (SIGCONT resumes), 'p' or space toggles pause on a terminal, Ctrl-C stops with a summary.
    Offline, sessions come from the FastF1 cache in the data directory (PITWALL_DATA_DIR);
    set PITWALL_FASTF1_ONLINE=1 to let FastF1 download others.
    """
    pace = parse_speed(speed)
    settings = get_settings()
    from producers.kafka import EventProducer, PublishError
    from replay.simulate import publish_timeline
    from replay.timeline import build_timeline

    try:
        with console.status(f"Loading {year} {event} {session}..."):
            timeline = build_timeline(
                year, event, session, settings=settings, telemetry_every=telemetry_every
            )
    except ReplayError as exc:
        console.print(f"[red]Cannot replay:[/] {exc}")
        raise typer.Exit(2) from None
    console.print(
        f"Loaded {timeline.title}: {len(timeline):,} events, "
        f"{timeline.total_laps or '?'} laps, session key {session_key or timeline.session_key}"
    )
    try:
        bootstrap = settings.require_kafka
    except NotConfiguredError as exc:
        console.print(f"[red]{exc}[/] Nothing was published.")
        raise typer.Exit(2) from None
    try:
        if create_topics:
            from producers.admin import create_topics as create

            create(bootstrap, settings.kafka_partitions)
        producer = EventProducer(bootstrap)
        clock = PacingClock(0.0, pace)
        _install_pause_controls(clock)
        summary = publish_timeline(
            timeline,
            producer,
            speed=pace,
            from_lap=from_lap,
            session_key=session_key,
            progress=True,
            clock=clock,
        )
    except ValueError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    except PublishError as exc:
        console.print(f"[red]The broker did not take every event:[/] {exc}")
        raise typer.Exit(1) from None
    except Exception as exc:
        if type(exc).__module__.startswith("confluent_kafka"):
            console.print(f"[red]Kafka error:[/] {exc}")
            raise typer.Exit(1) from None
        raise
    print_summary(summary)
    if summary.interrupted:
        raise typer.Exit(130)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
