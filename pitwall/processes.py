"""Every process ``pitwall up`` and ``pitwall demo`` start: recorded, supervised, stopped.

Why: the embedded servers and pitwall's services each run in a session of their own (so a
Ctrl-C in the terminal reaches only the command, which then stops them in order). A command
that dies without its ``finally`` (kill -9, OOM killer) would leave them running: the next
run would find its ports taken and a stale PostgreSQL. So:

- :class:`ProcessRegistry` writes each started process (name, pid = its process group,
  start time, owner pid and start time) to ``<state dir>/processes.json``; a later run's
  :meth:`ProcessRegistry.reap_orphans` stops the groups whose owner is gone (checking start
  times, so a reused pid is never signalled);
- :func:`stop_on_signals` turns SIGINT, SIGTERM and SIGHUP into one ``KeyboardInterrupt``
  (``docker stop``, systemd and a closed terminal stop the stack as Ctrl-C does; a second
  signal during the clean-up is ignored);
- :class:`Supervisor` restarts a service or an embedded server that died, on the same
  port, at most ``max_restarts`` times a minute. A server that comes back empty (the
  memory-storage broker) takes the services with it: they are killed before it restarts
  (so none writes its old offsets into the new broker), ``on_fresh`` recreates what the
  servers need (the topics), and they start again from the new broker's beginning.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from pitwall.embedded.base import EmbeddedServer, ServerStartError

REGISTRY_FILE = "processes.json"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _started(pid: int) -> float | None:
    """The process's start time (epoch s), or None when it does not exist."""
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


@dataclass
class Entry:
    """One started process (the leader of its own process group)."""

    name: str
    pid: int
    started: float
    owner: int
    owner_started: float

    def owner_alive(self) -> bool:
        at = _started(self.owner)
        return at is not None and abs(at - self.owner_started) < 1.0


@dataclass
class ProcessRegistry:
    """``<state dir>/processes.json``: what this machine's pitwall commands started."""

    state_dir: Path
    owner: int = field(default_factory=os.getpid)

    @property
    def path(self) -> Path:
        return self.state_dir / REGISTRY_FILE

    @contextlib.contextmanager
    def _locked(self) -> Iterator[list[Entry]]:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.state_dir / (REGISTRY_FILE + ".lock"), "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                raw = json.loads(self.path.read_text()) if self.path.exists() else []
                entries = [Entry(**e) for e in raw]
            except (OSError, ValueError, TypeError):
                entries = []
            yield entries
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps([asdict(e) for e in entries], indent=1))
            tmp.replace(self.path)

    def entries(self) -> list[Entry]:
        with self._locked() as entries:
            return list(entries)

    def record(self, name: str, pid: int) -> None:
        owner_started = _started(self.owner) or time.time()
        with self._locked() as entries:
            entries[:] = [e for e in entries if e.pid != pid]
            started = _started(pid) or time.time()
            entries.append(Entry(name, pid, started, self.owner, owner_started))

    def forget(self, pid: int) -> None:
        with self._locked() as entries:
            entries[:] = [e for e in entries if e.pid != pid]

    def reap_orphans(self, timeout: float = 10.0) -> list[str]:
        """Stop what runs of commands that are gone left behind; the names stopped."""
        with self._locked() as entries:
            orphans = [e for e in entries if not e.owner_alive()]
            entries[:] = [e for e in entries if e.owner_alive()]
        stopped = []
        for entry in orphans:
            if stop_group(entry.pid, entry.started, timeout):
                stopped.append(f"{entry.name} (pid {entry.pid})")
        return stopped


def group_members(pgid: int, not_before: float) -> list[psutil.Process]:
    """The live processes of group ``pgid`` started no earlier than ``not_before`` (a group
    id reused by a later process is not ours)."""
    found = []
    for proc in psutil.process_iter(["create_time"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["create_time"] >= not_before - 1.0:
                found.append(proc)
        except (ProcessLookupError, psutil.Error):
            continue
    return found


def stop_group(pgid: int, started: float, timeout: float = 10.0) -> bool:
    """SIGTERM the group, SIGKILL what is left after ``timeout``; False if none was running."""
    members = group_members(pgid, started)
    if not members:
        return False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGTERM)
    _, alive = psutil.wait_procs(members, timeout=timeout)
    if alive:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        psutil.wait_procs(alive, timeout=5)
    return True


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block SIGINT, SIGTERM and SIGHUP raise ``KeyboardInterrupt`` once; later
    ones (while the clean-up runs) are ignored. The old handlers come back at the end."""
    raised = False

    def handler(signum: int, frame: object) -> None:
        nonlocal raised
        if raised:
            return
        raised = True
        raise KeyboardInterrupt(signal.Signals(signum).name)

    old = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, previous in old.items():
            signal.signal(sig, previous)


@dataclass
class Service:
    """A pitwall service process (``python -m pitwall.cli ...``) the supervisor keeps up."""

    name: str
    cmd: list[str]
    env: dict[str, str]
    #: It keeps positions on the broker (consumer offsets, table changelogs): restarted
    #: with a broker that comes back empty.
    follows_broker: bool = False
    proc: subprocess.Popen | None = None
    started: float = 0.0
    restarts: list[float] = field(default_factory=list)

    def start(self) -> subprocess.Popen:
        self.proc = subprocess.Popen(self.cmd, env=self.env, start_new_session=True)
        self.started = _started(self.proc.pid) or time.time()
        return self.proc


class GaveUpError(RuntimeError):
    """Something kept dying: the supervisor stopped restarting it."""


class Supervisor:
    """Starts services, records them and the embedded servers, restarts what dies, and
    stops everything (services first, then the servers) in :meth:`stop`."""

    def __init__(
        self,
        registry: ProcessRegistry,
        say: Callable[[str], Any] = print,
        max_restarts: int = 5,
        stop_timeout: float = 15.0,
        on_fresh: Callable[[EmbeddedServer], Any] | None = None,
    ) -> None:
        self.registry = registry
        self.say = say
        self.max_restarts = max_restarts
        self.stop_timeout = stop_timeout
        #: Called when a volatile server is back, empty, before the services start again.
        self.on_fresh = on_fresh
        self.services: list[Service] = []
        self.servers: list[EmbeddedServer] = []
        self._server_restarts: dict[str, list[float]] = {}

    # -- start ---------------------------------------------------------------------------
    def add_server(self, server: EmbeddedServer) -> None:
        """Record an embedded server that is already running (restarted when it dies)."""
        self.servers.append(server)
        if server.proc is not None:
            self.registry.record(server.slug, server.proc.pid)

    def start_service(
        self, name: str, cmd: list[str], env: dict[str, str], follows_broker: bool = False
    ) -> Service:
        service = Service(name, cmd, env, follows_broker)
        proc = service.start()
        self.registry.record(name, proc.pid)
        self.services.append(service)
        return service

    # -- supervise -----------------------------------------------------------------------
    def _allow(self, history: list[float], what: str) -> None:
        now = time.monotonic()
        history[:] = [t for t in history if now - t < 60] + [now]
        if len(history) > self.max_restarts:
            raise GaveUpError(f"{what} died {len(history)} times within a minute; giving up")

    def check(self) -> list[str]:
        """Restart every service and embedded server that has exited; what was restarted."""
        done = []
        for server in self.servers:
            if server.alive():
                continue
            self._allow(self._server_restarts.setdefault(server.slug, []), server.name)
            if server.volatile:
                self._kill_services(f"{server.name} exited and comes back empty")
            self._restart_server(server)
            if server.volatile and self.on_fresh is not None:
                self.on_fresh(server)
            done.append(server.name)
        for service in self.services:
            proc = service.proc
            if proc is None or proc.poll() is None:
                continue
            self._allow(service.restarts, f"service {service.name}")
            self.registry.forget(proc.pid)
            stop_group(proc.pid, service.started, timeout=5)  # children it left (sinks)
            self.say(f"service {service.name} exited ({proc.returncode}); restarting it")
            self.registry.record(service.name, service.start().pid)
            done.append(service.name)
        return done

    def _kill_services(self, why: str) -> None:
        """kill -9 every running service that keeps positions on the broker (their groups):
        they start again on the new broker, which holds nothing of their old offsets."""
        for service in self.services:
            proc = service.proc
            if service.follows_broker and proc is not None and proc.poll() is None:
                self.say(f"{why}: stopping service {service.name}")
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(10)

    def _restart_server(self, server: EmbeddedServer) -> None:
        """Start a server that died again, on its port."""
        old = server.proc
        if old is not None:
            self.registry.forget(old.pid)
            # A killed postmaster leaves its backends (and their shared memory) behind:
            # the new one would refuse to start beside them.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(old.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                old.wait(5)
        server.proc = None
        server.requested_port = server.port  # clients keep the URL they have
        self.say(f"{server.name} exited; restarting it on port {server.port}")
        try:
            server.start(timeout=60)
        except ServerStartError as exc:
            raise GaveUpError(str(exc)) from None
        self.registry.record(server.slug, server.proc.pid)  # type: ignore[union-attr]

    # -- stop ----------------------------------------------------------------------------
    def stop_services(self) -> None:
        for service in self.services:
            proc = service.proc
            if proc is not None and proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for service in self.services:
            proc = service.proc
            if proc is None:
                continue
            try:
                proc.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.say(f"{service.name} did not stop in {self.stop_timeout:.0f} s; killing it")
            # Whatever the leader left in its group (a sink's children) goes with it.
            stop_group(proc.pid, service.started, timeout=5)
            self.registry.forget(proc.pid)
        self.services.clear()

    def stop(self) -> None:
        """Stop the services, then the servers, and forget them."""
        self.stop_services()
        for server in reversed(self.servers):
            pid = server.proc.pid if server.proc is not None else None
            server.stop()
            if pid is not None:
                self.registry.forget(pid)
        self.servers.clear()
