"""pitwall's own services (the stream worker, the sinks, the API) as child processes that
``pitwall up`` and ``pitwall demo`` start, supervise and wait for.

Their command lines are ``python -m pitwall.cli <command>``; a :class:`Supervisor` records
and restarts them (:mod:`pitwall.processes`). ``say`` prints a line for the user.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import httpx

from pitwall.embedded import EmbeddedServer
from pitwall.processes import ProcessRegistry, Supervisor

#: Service name -> the pitwall command that runs it.
SERVICES = {
    "worker": ["worker"],
    "sink": ["sink"],
    "api": ["serve"],
}

Say = Callable[[str], object]


class UnknownServiceError(ValueError):
    """A service name that is not one of :data:`SERVICES`."""


def service_command(name: str) -> list[str]:
    """The command line of a pitwall service (``pitwall worker`` etc.)."""
    if name not in SERVICES:
        raise UnknownServiceError(f"unknown service {name!r}; choose from {', '.join(SERVICES)}")
    return [sys.executable, "-m", "pitwall.cli", *SERVICES[name]]


def start_services(supervisor: Supervisor, names: list[str], env: dict[str, str]) -> None:
    """Start pitwall services as child processes the supervisor records and restarts."""
    commands = {name: service_command(name) for name in names}  # all checked before any starts
    for name, cmd in commands.items():
        supervisor.start_service(name, cmd, env)


def started(supervisor: Supervisor, server: EmbeddedServer, say: Say, url: bool = False) -> None:
    """Record a server as soon as it runs (a kill -9 from then on leaves nothing unknown)."""
    supervisor.add_server(server, restart=server.env_var != "KAFKA_BOOTSTRAP")
    say(f"[green]✓[/] {server.name} " + (server.url if url else "ready"))


def reap(registry: ProcessRegistry, say: Say) -> None:
    """Stop what a killed earlier run left behind, saying so."""
    for what in registry.reap_orphans():
        say(f"[yellow]stopped {what}, left running by an earlier run that was killed[/]")


def check_running(supervisor: Supervisor) -> None:
    """RuntimeError when one of the supervisor's services has exited."""
    for service in supervisor.services:
        proc = service.proc
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"service {service.name} exited with code {proc.returncode}")


def wait_http(url: str, timeout: float, supervisor: Supervisor) -> bool:
    """Whether ``url`` answers (below 500) within ``timeout`` s; RuntimeError as soon as a
    service exits meanwhile."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        check_running(supervisor)
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    return False
