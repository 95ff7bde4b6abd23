"""``pitwall demo``: the whole product on one machine, fed by a real past race.

Starts the embedded stack (or uses the configured servers), the stream worker, the sinks
and the API/WebSocket gateway, then replays a race from the FastF1 cache into Kafka at the
chosen speed while the dashboard shows it live. What ``make demo`` runs. SIGINT, SIGTERM and
SIGHUP stop every process it started; a second run stops what a killed one left.
"""

from __future__ import annotations

import os
import time
from typing import Annotated

import typer
from rich.console import Console

from core.settings import Settings, get_settings
from pitwall.commands._options import speed_option
from pitwall.embedded import ServerStartError, Stack
from pitwall.processes import ProcessRegistry, Supervisor, stop_on_signals
from pitwall.services import check_running, reap, start_services, started, wait_http
from replay.timeline import Timeline

console = Console(stderr=True)
app = typer.Typer()


@app.command()
def demo(
    year: Annotated[int, typer.Argument(help="Season of the race to replay.")] = 2023,
    event: Annotated[str, typer.Argument(help="Event name, e.g. Monaco.")] = "Monaco",
    session: Annotated[str, typer.Option("--session", "-s", help="R, S, Q, ...")] = "R",
    speed: Annotated[str, typer.Option(help="Session seconds per wall second, or 'max'.")] = "20",
    from_lap: Annotated[
        int,
        typer.Option(
            "--from-lap",
            min=1,
            help="Fast-forward to the start of this lap, then pace. The default, 1, skips "
            "the hour of pre-race feed (3 minutes at 20x) and starts at lights out.",
        ),
    ] = 1,
    stay: Annotated[
        bool, typer.Option(help="Keep everything running after the replay until Ctrl-C.")
    ] = True,
) -> None:
    """Run the stack, worker, sinks and dashboard, and replay a real race into them.

    Open the printed dashboard URL in a browser while the race replays. Ctrl-C stops
    every process this command started.
    """
    from replay.errors import ReplayError
    from replay.timeline import build_timeline

    pace = speed_option(speed)
    settings = get_settings()
    try:
        with console.status(f"Loading {year} {event} {session} from the FastF1 cache..."):
            timeline = build_timeline(year, event, session, settings=settings)
    except ReplayError as exc:
        console.print(f"[red]Cannot replay:[/] {exc}")
        raise typer.Exit(2) from None
    registry = ProcessRegistry(settings.state_dir)
    reap(registry, console.print)
    stack = Stack(settings)
    supervisor = Supervisor(registry, console.print)
    # SIGINT, SIGTERM and SIGHUP all stop every process started here (see finally).
    with stop_on_signals():
        _demo(settings, stack, supervisor, timeline, pace, from_lap, stay)


def _demo(
    settings: Settings,
    stack: Stack,
    supervisor: Supervisor,
    timeline: Timeline,
    pace: float | None,
    from_lap: int,
    stay: bool,
) -> None:
    """Start everything, replay the race, stay if asked; everything started is stopped."""
    try:
        bootstrap, base = _start(settings, stack, supervisor)
        console.print(
            f"\n[bold green]Dashboard:[/] {base}/?session={timeline.session_key}   "
            f"API docs: {base}/docs\n"
        )
        if _replay(timeline, bootstrap, pace, from_lap):
            console.print("Stopping...")  # Ctrl-C during the replay stops everything
        elif stay:
            console.print("Replay finished; everything keeps running. Ctrl-C stops it all.")
            while True:
                time.sleep(1)
                check_running(supervisor)
    except KeyboardInterrupt:
        console.print("Stopping...")
    except RuntimeError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    finally:
        supervisor.stop()
        stack.stop()


def _start(settings: Settings, stack: Stack, supervisor: Supervisor) -> tuple[str, str]:
    """The stack, the topics, the worker, sinks and API, up and answering: (broker, API URL)."""
    from producers.admin import create_topics

    try:
        with console.status("Starting the embedded stack..."):
            urls = stack.start(lambda s: started(supervisor, s, console.print, url=True))
    except ServerStartError as exc:
        console.print(f"[red]Could not start the stack:[/] {exc}")
        raise typer.Exit(1) from None
    env = {**os.environ, **urls}
    bootstrap = urls.get("KAFKA_BOOTSTRAP") or settings.require_kafka
    create_topics(bootstrap, settings.kafka_partitions)
    start_services(supervisor, ["worker", "sink", "api"], env)
    host = "127.0.0.1" if settings.api_host in ("0.0.0.0", "::") else settings.api_host
    base = f"http://{host}:{settings.api_port}"
    with console.status("Waiting for the worker, sinks and API..."):
        if not wait_http(f"{base}/health/live", 90, supervisor):
            console.print(f"[red]The API did not answer at {base} within 90 s[/]")
            raise typer.Exit(1)
        time.sleep(3)  # let the worker and sinks join their groups
    return bootstrap, base


def _replay(timeline: Timeline, bootstrap: str, pace: float | None, from_lap: int) -> bool:
    """Publish the race at ``pace``, print its summary; whether Ctrl-C interrupted it."""
    from producers.kafka import EventProducer
    from replay.report import print_summary
    from replay.simulate import publish_timeline

    summary = publish_timeline(
        timeline, EventProducer(bootstrap), speed=pace, from_lap=from_lap, progress=True
    )
    print_summary(summary, console)
    return summary.interrupted
