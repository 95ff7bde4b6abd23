"""``pitwall demo``: the whole product on one machine, fed by a real past race.

Starts the embedded stack (or uses the configured servers), the stream worker, the sinks
and the API/WebSocket gateway, then replays a race from the FastF1 cache into Kafka at the
chosen speed while the dashboard shows it live. Beside the replay, in the background,
``pitwall ingest ergast`` loads the local Ergast history into PostgreSQL, so that the
pre-race pages (next race, calendar, accuracy, rankings, standings) have data too; the
replay does not wait for it. What ``make demo`` runs. SIGINT, SIGTERM and SIGHUP stop every
process it started; a second run stops what a killed one left.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from core.settings import Settings, get_settings
from pitwall.commands._options import speed_option
from pitwall.embedded import ServerStartError, Stack
from pitwall.processes import ProcessRegistry, Supervisor, stop_group, stop_on_signals
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
    history: Annotated[
        bool,
        typer.Option(
            help="Load the local Ergast history (the data directory's ergast/data) into "
            "PostgreSQL in the background, for the pre-race pages."
        ),
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
    ingest = HistoryIngest(registry, settings) if history else None
    with stop_on_signals():
        _demo(settings, stack, supervisor, timeline, pace, from_lap, stay, ingest)


class HistoryIngest:
    """``pitwall ingest ergast`` of the local Ergast tables, in its own process beside the
    replay (its log in the state directory); recorded, so a killed demo's is reaped."""

    def __init__(
        self, registry: ProcessRegistry, settings: Settings, source: Path | None = None
    ) -> None:
        self.registry = registry
        self.source = source or settings.data_dir / "ergast" / "data"
        self.log = settings.state_dir / "logs" / "ergast-ingest.log"
        self.proc: subprocess.Popen | None = None
        self.started = 0.0

    def start(self, env: dict[str, str]) -> None:
        if not (self.source / "races.csv").exists():
            console.print(f"[yellow]No Ergast tables in {self.source}: no pre-race data[/]")
            return
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.started = time.time()  # before it starts: its group is ours from then on
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pitwall.cli", "ingest", "ergast", str(self.source)],
            env=env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=lambda: os.nice(10),  # behind the live pipeline on a busy machine
        )
        self.registry.record("ergast-ingest", self.proc.pid)
        console.print(f"Loading the Ergast history in the background (log: {self.log})")
        threading.Thread(target=self._report, args=(self.proc,), daemon=True).start()

    def _report(self, proc: subprocess.Popen) -> None:
        code = proc.wait()
        self.registry.forget(proc.pid)
        if code == 0:
            took = time.time() - self.started
            console.print(f"[green]✓[/] Ergast history loaded ({took:.0f} s): pre-race pages ready")
        elif code > 0:
            console.print(f"[red]The Ergast ingest failed ({code}); see {self.log}[/]")

    def wait(self, timeout: float | None = None) -> int | None:
        """The ingest's exit code once it is done (None: it never started)."""
        return self.proc.wait(timeout) if self.proc is not None else None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            stop_group(self.proc.pid, self.started, timeout=5)
            self.registry.forget(self.proc.pid)


def _demo(
    settings: Settings,
    stack: Stack,
    supervisor: Supervisor,
    timeline: Timeline,
    pace: float | None,
    from_lap: int,
    stay: bool,
    ingest: HistoryIngest | None = None,
) -> None:
    """Start everything, replay the race, stay if asked; everything started is stopped."""
    try:
        bootstrap, base = _start(settings, stack, supervisor)
        if ingest is not None:
            ingest.start({**os.environ, **stack.urls})
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
        if ingest is not None:
            ingest.stop()
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
