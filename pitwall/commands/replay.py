"""``simulate_live`` (also ``pitwall replay``): replay a past session into Kafka as if it were live.

simulate_live 2023 Monaco --speed 10
simulate_live 2023 "Abu Dhabi" --session R --speed max
simulate_live 2023 Silverstone --from-lap 30 --speed 5

``simulate_live`` is this module's app run on its own (``main``, the script in pyproject);
``pitwall`` merges the same command in as ``pitwall replay``.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from core.settings import NotConfiguredError, Settings, get_settings
from pitwall.commands._options import speed_option
from replay.clock import PacingClock
from replay.errors import ReplayError
from replay.pause_controls import install_pause_controls
from replay.report import print_summary
from replay.simulate import Summary
from replay.timeline import Timeline

console = Console(stderr=True)
app = typer.Typer(
    add_completion=False, pretty_exceptions_show_locals=False, rich_markup_mode="markdown"
)


@app.command("replay")
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
    pace = speed_option(speed)
    settings = get_settings()
    timeline = _load(year, event, session, settings, telemetry_every)
    console.print(
        f"Loaded {timeline.title}: {len(timeline):,} events, "
        f"{timeline.total_laps or '?'} laps, session key {session_key or timeline.session_key}"
    )
    try:
        bootstrap = settings.require_kafka
    except NotConfiguredError as exc:
        console.print(f"[red]{exc}[/] Nothing was published.")
        raise typer.Exit(2) from None
    summary = _publish(
        timeline, bootstrap, pace, from_lap, session_key, create_topics, settings.kafka_partitions
    )
    print_summary(summary, console)
    if summary.interrupted:
        raise typer.Exit(130)


def _load(year: int, event: str, session: str, settings: Settings, every: int) -> Timeline:
    """The session's timeline; exit code 2 when it cannot be replayed."""
    from replay.timeline import build_timeline

    try:
        with console.status(f"Loading {year} {event} {session}..."):
            return build_timeline(year, event, session, settings=settings, telemetry_every=every)
    except ReplayError as exc:
        console.print(f"[red]Cannot replay:[/] {exc}")
        raise typer.Exit(2) from None


def _publish(
    timeline: Timeline,
    bootstrap: str,
    pace: float | None,
    from_lap: int | None,
    session_key: str | None,
    create: bool,
    partitions: int,
) -> Summary:
    """Publish the timeline with pause controls (creating the topics first, ``partitions``
    per race topic, when ``create``); exit code 2 on a bad start lap, 1 when the broker
    fails."""
    from producers.kafka import EventProducer, PublishError
    from replay.simulate import publish_timeline

    try:
        if create:
            from producers.admin import create_topics

            create_topics(bootstrap, partitions)
        producer = EventProducer(bootstrap)
        clock = PacingClock(0.0, pace)
        install_pause_controls(clock, console.print)
        return publish_timeline(
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


def main() -> None:
    """The ``simulate_live`` script: this command on its own."""
    app()


if __name__ == "__main__":
    main()
