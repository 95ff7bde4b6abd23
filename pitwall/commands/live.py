"""``pitwall live``: F1's live-timing feed (or a recording of it) into pitwall's topics.

pitwall live                                   # connect to F1 live timing (F1 TV account)
pitwall live --record today.txt                # ... and keep the raw feed
pitwall live --from-file today.txt --speed 10  # play a recording through the same parser
pitwall live --from-file 2026-03-08_Race/ --speed max   # a session folder of archive files
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from core.gc import freeze_startup_objects
from core.settings import NotConfiguredError, Settings, get_settings
from pitwall.commands._options import speed_option
from schemas.topics import DLQ

if TYPE_CHECKING:
    from producers.live.archive import FeedLine
    from producers.live.streaming import LiveOutput, LiveRun

console = Console(stderr=True)
app = typer.Typer()


@app.command("live")
def live(
    from_file: Annotated[
        Path | None,
        typer.Option(
            "--from-file",
            help="Play a recorded feed instead of connecting: a FastF1/pitwall recording, "
            "a SignalR log, one *.jsonStream archive file, or a session folder of them.",
        ),
    ] = None,
    speed: Annotated[
        str,
        typer.Option(help="With --from-file: feed seconds per wall second (1, 10...) or 'max'."),
    ] = "10",
    record: Annotated[
        Path | None,
        typer.Option(help="Also append the raw live feed to this file (FastF1's format)."),
    ] = None,
    session_key: Annotated[
        str | None,
        typer.Option(help="Session key of the events (default: from SessionInfo)."),
    ] = None,
    no_auth: Annotated[
        bool,
        typer.Option("--no-auth", help="Connect without an F1 account (partial public feed)."),
    ] = False,
    timeout: Annotated[
        int, typer.Option(help="Seconds without data before reconnecting.", min=5)
    ] = 60,
    telemetry: Annotated[
        bool, typer.Option(help="Publish car data and positions (CarData.z, Position.z).")
    ] = True,
    create_topics: Annotated[
        bool, typer.Option(help="Create pitwall's topics first if they do not exist.")
    ] = True,
) -> None:
    """Publish F1's live timing to Kafka as the same events a replay publishes.

    Every message updates an incremental session state; completed laps (with compound,
    tyre age, stint, pit in/out, position, track status), timing, stints, track status,
    race control, weather, session status and telemetry go to their topics; input that
    cannot be parsed goes to f1.dlq.v1 with the reason. Live, it signs in with FastF1's
    F1 account flow (F1_USERNAME / F1_PASSWORD, or a stored token) and reconnects with
    back-off when the connection drops. Ctrl-C stops with a summary.
    """
    from producers.live.streaming import stream_live
    from replay.playback import play_recording

    pace = speed_option(speed)
    if from_file is not None and record is not None:
        raise typer.BadParameter("--record keeps a live feed; it cannot be used with --from-file")
    if from_file is not None and not from_file.exists():
        console.print(f"[red]No such file or folder:[/] {from_file}")
        raise typer.Exit(2)
    settings = get_settings()
    bootstrap = _bootstrap(settings)
    lines = _recording(from_file) if from_file is not None else None
    if lines is None and not no_auth:
        _check_credentials(settings)
    output = _connect(bootstrap, settings.kafka_partitions, session_key, telemetry, create_topics)
    freeze_startup_objects()  # no collector stalls in the tail of the message latency
    if lines is not None:
        title = from_file.name if from_file else "feed"
        run = play_recording(lines, output, speed=pace, title=title)
    else:
        console.print("Connecting to F1 live timing... (Ctrl-C to stop)")
        credentials_set = settings.f1_credentials
        run = stream_live(
            output, record=record, no_auth=no_auth, credentials_set=credentials_set, timeout=timeout
        )
    raise typer.Exit(_report(run))


def _recording(path: Path) -> list[FeedLine]:
    """Every line of a recording; exit code 2 when it cannot be read."""
    from producers.live.archive import read_feed
    from producers.live.decode import FeedError

    try:
        return list(read_feed(path))
    except (FeedError, OSError) as exc:
        console.print(f"[red]Cannot read the recording:[/] {exc}")
        raise typer.Exit(2) from None


def _bootstrap(settings: Settings) -> str:
    """The broker's address; exit code 2 when none is configured."""
    try:
        return settings.require_kafka
    except NotConfiguredError as exc:
        console.print(f"[red]{exc}[/] Nothing was published.")
        raise typer.Exit(2) from None


def _check_credentials(settings: Settings) -> None:
    """Exit code 2 when FastF1 has no F1 account to sign in with."""
    from producers.live.client import credentials_problem

    if problem := credentials_problem(settings.f1_credentials):
        console.print(f"[red]No F1 credentials.[/] {problem}")
        raise typer.Exit(2)


def _connect(
    bootstrap: str, partitions: int, session_key: str | None, telemetry: bool, create: bool
) -> LiveOutput:
    """The live producer on the broker; exit code 1 when it cannot be reached."""
    from producers.live.streaming import LiveOutput

    try:
        return LiveOutput.connect(
            bootstrap,
            partitions,
            session_key=session_key,
            telemetry=telemetry,
            create_topics=create,
        )
    except Exception as exc:
        console.print(f"[red]Could not reach the broker at {bootstrap}:[/] {exc}")
        raise typer.Exit(1) from None


def _report(run: LiveRun) -> int:
    """Print why the feed stopped (if it failed) and what it published; the exit code."""
    from producers.live.client import MissingCredentialsError

    code = 130 if run.interrupted else 0
    if isinstance(run.error, MissingCredentialsError):
        console.print(f"[red]{run.error}[/]")
        code = 2
    elif run.error is not None:
        console.print(f"[red]Live feed stopped:[/] {type(run.error).__name__}: {run.error}")
        code = 1
    print_summary(run)
    return code


def print_summary(run: LiveRun) -> None:
    """Events per topic, dead letters and the arrival-to-ack latency of messages."""
    stats = run.stats
    table = Table("topic", "events", title=f"session {run.session_key}")
    for topic, n in sorted(stats.published.items()):
        table.add_row(topic, f"{n:,}")
    table.add_row("[bold]total[/]", f"[bold]{stats.events:,}[/]")
    table.add_row(f"{DLQ.name} (unparsable input)", f"{stats.dead_letters:,}")
    console.print(table)
    line = f"{stats.lines:,} lines, {stats.messages:,} messages in {run.seconds:.1f} s"
    if run.latencies:
        import numpy as np

        ms = [x * 1000 for x in run.latencies]
        line += (
            f"; arrival -> broker ack p50 {statistics.median(ms):.1f} ms, "
            f"p99 {np.percentile(ms, 99, method='nearest'):.1f} ms"
        )
    console.print(line)
    for reason, n in stats.reasons.most_common(5):
        console.print(f"  [yellow]DLQ[/] {n} x {reason}")
