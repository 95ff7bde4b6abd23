"""``pitwall up``: start the embedded stack (and optionally the services) until stopped.

SIGINT (Ctrl-C), SIGTERM and SIGHUP stop every process it started; a service, PostgreSQL
or Redis that dies meanwhile is restarted (on the same port); what a killed earlier run left
is stopped first (:mod:`pitwall.processes`).
"""

from __future__ import annotations

import os
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from core.settings import Settings, get_settings, stack_env_is_live
from pitwall.embedded import ServerStartError, Stack
from pitwall.processes import GaveUpError, ProcessRegistry, Supervisor, stop_on_signals
from pitwall.services import UnknownServiceError, reap, start_services, started

console = Console(stderr=True)
app = typer.Typer()


@app.command()
def up(
    services: Annotated[
        list[str] | None,
        typer.Option(
            "--with",
            "-w",
            help="Also run these services: worker, sink, api (repeat the option).",
        ),
    ] = None,
    kafka_port: Annotated[int | None, typer.Option(help="Port for the embedded broker.")] = None,
    postgres_port: Annotated[int | None, typer.Option(help="Port for embedded PostgreSQL.")] = None,
    redis_port: Annotated[int | None, typer.Option(help="Port for embedded Redis.")] = None,
) -> None:
    """Start an embedded broker, PostgreSQL and Redis for every URL that is unset.

    Prints where each listens and writes them to .pitwall/stack.env, so other pitwall
    commands on this machine find them. Ctrl-C stops everything cleanly. With
    KAFKA_BOOTSTRAP, DATABASE_URL and REDIS_URL all set it starts no server.
    """
    settings = get_settings()
    if settings.stack_env_file.exists() and stack_env_is_live(settings.stack_env_file):
        console.print(
            f"[red]A pitwall stack is already running[/] (see {settings.stack_env_file}). "
            "Stop it first, or use it as it is."
        )
        raise typer.Exit(1)
    ports = {
        k: v
        for k, v in {
            "kafka": kafka_port,
            "postgres": postgres_port,
            "redis": redis_port,
        }.items()
        if v
    }
    registry = ProcessRegistry(settings.state_dir)
    reap(registry, console.print)
    stack = Stack(settings, ports=ports)
    supervisor = Supervisor(registry, console.print)
    with stop_on_signals():
        _up(settings, stack, supervisor, services or [])


def _up(settings: Settings, stack: Stack, supervisor: Supervisor, services: list[str]) -> None:
    """Start, supervise until a stop signal, stop: everything started is stopped."""
    try:
        try:
            with console.status("Starting the embedded stack..."):
                urls = stack.start(lambda s: started(supervisor, s, console.print))
        except ServerStartError as exc:
            console.print(f"[red]Could not start the stack:[/] {exc}")
            raise typer.Exit(1) from None
        env = {**os.environ, **urls}
        console.print(_urls_table(settings, urls))
        from producers.admin import create_topics

        created = create_topics(
            urls.get("KAFKA_BOOTSTRAP") or settings.require_kafka, settings.kafka_partitions
        )
        fresh = sum(r.status == "created" for r in created)
        console.print(f"Topics ready: {len(created)} ({fresh} created)")
        try:
            start_services(supervisor, services, env)
        except UnknownServiceError as exc:
            raise typer.BadParameter(str(exc)) from None
        for name in services:
            console.print(f"Started service {name}")
        console.print("Stack running. Press Ctrl-C to stop.")
        _supervise(stack, supervisor)
    except KeyboardInterrupt:
        console.print("Stopping...")
    finally:
        supervisor.stop()
        stack.stop()
        console.print("Stopped.")


def _urls_table(settings: Settings, urls: dict[str, str]) -> Table:
    """Where each server listens, embedded (started here) or configured."""
    table = Table(title="pitwall stack")
    table.add_column("service")
    table.add_column("variable")
    table.add_column("url")
    for var, given in (
        ("KAFKA_BOOTSTRAP", settings.kafka_bootstrap),
        ("DATABASE_URL", settings.database_url),
        ("REDIS_URL", settings.redis_url),
    ):
        where = "embedded" if var in urls else "configured"
        table.add_row(where, var, urls.get(var) or given or "")
    return table


def _supervise(stack: Stack, supervisor: Supervisor) -> None:
    """Restart what dies until a stop signal; exit code 1 when the broker dies (memory
    storage: a restarted broker would have lost every topic and offset) or a service keeps
    dying."""
    broker = next((s for s in stack.servers if s.env_var == "KAFKA_BOOTSTRAP"), None)
    while True:
        time.sleep(1)
        if broker is not None and not broker.alive():
            console.print(f"[red]{broker.name} exited[/]; see {broker.log_path}")
            raise typer.Exit(1)
        try:
            supervisor.check()
        except GaveUpError as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(1) from None
