"""``pitwall live``: F1's live-timing feed (or a recording of it) into pitwall's topics.

pitwall live                                   # connect to F1 live timing (F1 TV account)
pitwall live --record today.txt                # ... and keep the raw feed
pitwall live --from-file today.txt --speed 10  # play a recording through the same parser
pitwall live --from-file 2026-03-08_Race/ --speed max   # a session folder of archive files
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from core.gc import freeze_startup_objects
from core.settings import NotConfiguredError, get_settings
from replay.cli import parse_speed
from schemas.topics import DLQ

if TYPE_CHECKING:
    from producers.live.publisher import LiveStats

console = Console(stderr=True)


def print_summary(
    stats: LiveStats, latencies: list[float], seconds: float, session_key: str
) -> None:
    """Events per topic, dead letters and the arrival-to-ack latency of messages."""
    table = Table("topic", "events", title=f"session {session_key}")
    for topic, n in sorted(stats.published.items()):
        table.add_row(topic, f"{n:,}")
    table.add_row("[bold]total[/]", f"[bold]{stats.events:,}[/]")
    table.add_row(f"{DLQ.name} (unparsable input)", f"{stats.dead_letters:,}")
    console.print(table)
    line = f"{stats.lines:,} lines, {stats.messages:,} messages in {seconds:.1f} s"
    if latencies:
        import numpy as np

        ms = [x * 1000 for x in latencies]
        line += (
            f"; arrival -> broker ack p50 {statistics.median(ms):.1f} ms, "
            f"p99 {np.percentile(ms, 99, method='nearest'):.1f} ms"
        )
    console.print(line)
    for reason, n in stats.reasons.most_common(5):
        console.print(f"  [yellow]DLQ[/] {n} x {reason}")


def register(app: typer.Typer) -> None:
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
            typer.Option(
                help="With --from-file: feed seconds per wall second (1, 10...) or 'max'."
            ),
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
        pace = parse_speed(speed)
        if from_file is not None and record is not None:
            raise typer.BadParameter(
                "--record keeps a live feed; it cannot be used with --from-file"
            )
        if from_file is not None and not from_file.exists():
            console.print(f"[red]No such file or folder:[/] {from_file}")
            raise typer.Exit(2)
        settings = get_settings()
        try:
            bootstrap = settings.require_kafka
        except NotConfiguredError as exc:
            console.print(f"[red]{exc}[/] Nothing was published.")
            raise typer.Exit(2) from None

        from producers.live.archive import read_feed
        from producers.live.decode import FeedError
        from producers.live.parser import LiveParser
        from producers.live.publisher import LivePublisher, TimedEventProducer

        lines = None
        if from_file is not None:
            try:
                lines = list(read_feed(from_file))
            except (FeedError, OSError) as exc:
                console.print(f"[red]Cannot read the recording:[/] {exc}")
                raise typer.Exit(2) from None
        elif not no_auth:
            from producers.live.client import credentials_problem

            if problem := credentials_problem(settings.f1_credentials):
                console.print(f"[red]No F1 credentials.[/] {problem}")
                raise typer.Exit(2)
        try:
            if create_topics:
                from producers.admin import create_topics as create

                create(bootstrap, settings.kafka_partitions)
            producer = TimedEventProducer(bootstrap)
            producer.warm_up()
        except Exception as exc:
            console.print(f"[red]Could not reach the broker at {bootstrap}:[/] {exc}")
            raise typer.Exit(1) from None
        parser = LiveParser(session_key, telemetry=telemetry)
        publisher = LivePublisher(producer, parser)
        freeze_startup_objects()  # no collector stalls in the tail of the message latency
        started = time.monotonic()
        if lines is not None:
            from replay.playback import play

            summary = play(
                lines,
                publisher,
                speed=pace,
                progress=True,
                total=len(lines),
                title=from_file.name if from_file else "feed",
            )
            producer.close()
            print_summary(
                publisher.stats, producer.message_latency, summary.seconds, parser.session_key
            )
            raise typer.Exit(130 if summary.interrupted else 0)

        from producers.live.client import FINAL_STATUSES, MissingCredentialsError, run_live

        publisher.start_polling()
        console.print("Connecting to F1 live timing... (Ctrl-C to stop)")
        code = 0
        try:
            run_live(
                publisher.handle_message,
                finished=lambda: parser.status in FINAL_STATUSES,
                record=record,
                no_auth=no_auth,
                credentials_set=settings.f1_credentials,
                timeout=timeout,
            )
        except MissingCredentialsError as exc:
            console.print(f"[red]{exc}[/]")
            code = 2
        except KeyboardInterrupt:
            code = 130
        except Exception as exc:
            console.print(f"[red]Live feed stopped:[/] {type(exc).__name__}: {exc}")
            code = 1
        publisher.finish(30)
        producer.close()
        print_summary(
            publisher.stats,
            producer.message_latency,
            time.monotonic() - started,
            parser.session_key,
        )
        raise typer.Exit(code)
