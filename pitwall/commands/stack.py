"""``pitwall up``: start the embedded stack (and optionally the services) until Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from pitwall.core.settings import get_settings, stack_env_is_live
from pitwall.embedded import ServerStartError, Stack

console = Console(stderr=True)

SERVICES = {
    "worker": ["worker"],
    "sink": ["sink"],
    "api": ["serve"],
}


def start_services(names: list[str], env: dict[str, str]) -> list[tuple[str, subprocess.Popen]]:
    """Start pitwall services (``pitwall worker`` etc.) as child processes."""
    procs = []
    for name in names:
        if name not in SERVICES:
            raise typer.BadParameter(f"unknown service {name!r}; choose from {', '.join(SERVICES)}")
        cmd = [sys.executable, "-m", "pitwall.cli", *SERVICES[name]]
        procs.append((name, subprocess.Popen(cmd, env=env, start_new_session=True)))
    return procs


def stop_services(procs: list[tuple[str, subprocess.Popen]]) -> None:
    for _, proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for name, proc in procs:
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            console.print(f"[yellow]{name} did not stop in 15 s; killing it[/]")
            os.killpg(proc.pid, signal.SIGKILL)


def register(app: typer.Typer) -> None:
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
        kafka_port: Annotated[
            int | None, typer.Option(help="Port for the embedded broker.")
        ] = None,
        postgres_port: Annotated[
            int | None, typer.Option(help="Port for embedded PostgreSQL.")
        ] = None,
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
        stack = Stack(settings, ports=ports)

        def on_term(signum: int, frame: object) -> None:
            raise KeyboardInterrupt  # SIGTERM (and SIGINT when run in the background) stop

        signal.signal(signal.SIGTERM, on_term)
        signal.signal(signal.SIGINT, on_term)
        try:
            with console.status("Starting the embedded stack..."):
                urls = stack.start(lambda s: console.print(f"[green]✓[/] {s.name} ready"))
        except ServerStartError as exc:
            console.print(f"[red]Could not start the stack:[/] {exc}")
            raise typer.Exit(1) from None
        env = {**os.environ, **urls}
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
        console.print(table)
        procs: list[tuple[str, subprocess.Popen]] = []
        try:
            from producers.admin import create_topics

            created = create_topics(
                urls.get("KAFKA_BOOTSTRAP") or settings.require_kafka, settings.kafka_partitions
            )
            fresh = sum(r.status == "created" for r in created)
            console.print(f"Topics ready: {len(created)} ({fresh} created)")
            procs = start_services(services or [], env)
            for name, _ in procs:
                console.print(f"Started service {name}")
            console.print("Stack running. Press Ctrl-C to stop.")
            while True:
                time.sleep(1)
                dead = stack.dead()
                if dead:
                    console.print(f"[red]{dead[0].name} exited[/]; see {dead[0].log_path}")
                    raise typer.Exit(1)
        except KeyboardInterrupt:
            console.print("Stopping...")
        finally:
            stop_services(procs)
            stack.stop()
            console.print("Stopped.")
