"""``pitwall sink``: land every topic in PostgreSQL and keep the live state in Redis."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from pitwall.settings import NotConfiguredError, get_settings

console = Console(stderr=True)


def register(app: typer.Typer) -> None:
    @app.command()
    def sink(
        only: Annotated[
            str | None, typer.Option(help="Run only 'pg' (PostgreSQL) or 'redis' (live state).")
        ] = None,
    ) -> None:
        """Write every topic to PostgreSQL/TimescaleDB (batched COPY, idempotent) and keep
        each session's live state in Redis with pub/sub updates for the WebSocket gateway.

        Offsets are committed only after rows are durable. Ctrl-C or SIGTERM stops it.
        """
        if only not in (None, "pg", "redis"):
            raise typer.BadParameter("use 'pg' or 'redis'", param_hint="--only")
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
        from consumers.runner import run

        run(settings, only, report=console.print)
