"""``pitwall serve``: the REST API, WebSocket gateway and dashboard under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from core.settings import InsecureSettingsError, get_settings

console = Console(stderr=True)
app = typer.Typer()


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to bind (default PITWALL_API_HOST).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to bind (default PITWALL_API_PORT, 8000).")
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Worker processes. Each subscribes to Redis itself, so WebSocket clients "
            "may land on any of them.",
        ),
    ] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
) -> None:
    """Serve the REST API (docs at /docs), the WebSocket gateway and the dashboard (/).

    Reads live state from Redis and history from PostgreSQL (REDIS_URL, DATABASE_URL, or
    a running `pitwall up`). Admin endpoints need an admin (token, admin API key or the
    shared X-API-Key); reads are public unless PITWALL_AUTH_READS=1. Off loopback it
    refuses to start while PITWALL_API_KEY or PITWALL_JWT_SECRET is the default.
    """
    import uvicorn

    settings = get_settings()
    host = host or settings.api_host
    port = port or settings.api_port
    try:
        settings.check_exposure(host)
    except InsecureSettingsError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    missing = [
        name
        for name, value in (
            ("REDIS_URL", settings.redis_url),
            ("DATABASE_URL", settings.database_url),
        )
        if not value
    ]
    if missing:
        console.print(
            f"[yellow]{', '.join(missing)} not set and no `pitwall up` running: "
            "endpoints that need them answer 503.[/]"
        )
    console.print(f"pitwall API on http://{host}:{port}/  (docs: /docs, dashboard: /)")
    import os

    # The app factory runs in uvicorn's process(es): tell it the address it serves on.
    os.environ["PITWALL_API_HOST"] = host
    get_settings.cache_clear()
    uvicorn.run(
        "api.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        ws="websockets-sansio",  # the gateway writes ready-made frames to its sockets
        ws_max_queue=32,
        # Compression costs every client its own deflate per frame: the gateway's main
        # CPU cost with many clients. Updates are small JSON; send them as they are.
        ws_per_message_deflate=False,
        ws_ping_interval=20,
        ws_ping_timeout=20,
        backlog=4096,
    )
