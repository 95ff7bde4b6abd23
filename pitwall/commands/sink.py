"""``pitwall sink``: land every topic in PostgreSQL and keep the live state in Redis."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from core.settings import NotConfiguredError, get_settings

console = Console(stderr=True)
app = typer.Typer()


@app.command()
def sink(
    only: Annotated[
        str | None,
        typer.Option(help="Run only 'pg' (the PostgreSQL sink) or 'redis' (the live state)."),
    ] = None,
    from_beginning: Annotated[
        bool,
        typer.Option(
            "--from-beginning",
            help="Re-read every topic from its start, ignoring committed offsets "
            "(idempotent: only missing rows are added; rebuilds the Redis state).",
        ),
    ] = False,
    pg_processes: Annotated[
        int,
        typer.Option(
            min=1,
            max=16,
            help="PostgreSQL sink processes sharing the topics' partitions (one consumer "
            "group). A session's events sit on one partition, so more processes speed up "
            "loading several sessions at once (--from-beginning after an outage), not one "
            "live race, and only as far as the topics have partitions (PITWALL_PARTITIONS "
            "when they are created, default 1); see benchmarks/bench_sink.py for the gain.",
        ),
    ] = 1,
) -> None:
    """Write every topic to PostgreSQL/TimescaleDB and keep each session's live state in Redis.

    PostgreSQL: one table per topic (hypertables with TimescaleDB, time-partitioned tables
    otherwise), batched binary COPY, idempotent on each topic's natural key; Kafka offsets
    are committed only after the rows are committed. Redis: standings, track status,
    strategy and degradation per session, with an update on pitwall:live:{session} for
    the WebSocket gateway. Uses KAFKA_BOOTSTRAP, DATABASE_URL and REDIS_URL (or the
    servers of `pitwall up`). Ctrl-C or SIGTERM stops it after the current batch.
    """
    if only not in (None, "pg", "redis"):
        raise typer.BadParameter(f"{only!r}: use 'pg' or 'redis'", param_hint="--only")
    settings = get_settings()
    try:
        _ = settings.require_kafka
        if only in (None, "pg"):
            _ = settings.require_database
        if only in (None, "redis"):
            _ = settings.require_redis
    except NotConfiguredError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("consumers").setLevel(logging.INFO)
    from consumers.runner import run

    run(
        settings,
        only,
        from_beginning=from_beginning,
        report=console.print,
        pg_processes=pg_processes,
    )
