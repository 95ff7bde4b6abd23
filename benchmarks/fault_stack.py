"""The stack the fault benchmark (``faults.py``) breaks: ``pitwall up --with worker --with sink
--with api`` on embedded servers of its own, on fixed ports (so that a whole stack started
again after a kill -9 has the URLs its clients hold), and the processes each fault kills."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pitwall.embedded.base import free_port  # noqa: E402

__all__ = ["FAULTS", "StackProcess", "free_port"]

#: Faults that kill one process (registry name, or a child of ``pitwall sink``), then the
#: broker, then everything at once.
FAULTS = ("worker", "pg-sink", "redis-writer", "api", "redis", "postgres", "broker", "stack")
#: The registry names of the embedded servers.
SERVERS = {"redis": "embeddedredis", "postgres": "embeddedpostgres", "broker": "tansubroker"}


@dataclass
class StackProcess:
    """``pitwall up`` with the worker, the sinks and the API in ``state`` (durable
    PostgreSQL), the API on ``api_port``, the servers on ports chosen once."""

    state: Path
    api_port: int
    ports: dict[str, int] = field(
        default_factory=lambda: {k: free_port() for k in ("kafka", "postgres", "redis")}
    )
    up: subprocess.Popen | None = None
    #: More environment for the stack's processes (e.g. rate limits).
    extra_env: dict[str, str] = field(default_factory=dict)

    def start(self) -> None:
        env = {
            **os.environ,
            "PITWALL_STATE_DIR": str(self.state),
            "PITWALL_PG_DURABLE": "1",
            "PITWALL_API_PORT": str(self.api_port),
            "PITWALL_LOG_FORMAT": "json",
            "COLUMNS": "200",
            **self.extra_env,
        }
        for var in ("KAFKA_BOOTSTRAP", "DATABASE_URL", "REDIS_URL"):
            env.pop(var, None)
        (self.state / "stack.env").unlink(missing_ok=True)
        log = (self.state / "up.log").open("a")
        ports = [a for k, v in self.ports.items() for a in (f"--{k}-port", str(v))]
        self.up = subprocess.Popen(
            [sys.executable, "-m", "pitwall.cli", "up", "--with", "worker", "--with", "sink",
             "--with", "api", *ports],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=REPO,
        )  # fmt: skip

    def urls(self, timeout: float = 180) -> dict[str, str]:
        """The stack's URLs, once ``pitwall up`` has written them."""
        path = self.state / "stack.env"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if path.exists():
                pairs = [ln.split("=", 1) for ln in path.read_text().splitlines() if "=" in ln]
                urls = dict(pairs)
                if {"KAFKA_BOOTSTRAP", "DATABASE_URL", "REDIS_URL"} <= set(urls):
                    return urls
            if self.up is not None and self.up.poll() is not None:
                raise SystemExit(f"pitwall up exited ({self.up.returncode}); see up.log")
            time.sleep(0.2)
        raise SystemExit(f"pitwall up did not write {path}")

    def registry(self) -> dict[str, int]:
        entries = json.loads((self.state / "processes.json").read_text())
        return {e["name"]: e["pid"] for e in entries}

    def victim(self, fault: str, db_port: int, redis_port: int) -> int:
        """The pid to kill -9 for ``fault`` (one process; not for ``stack``)."""
        procs = self.registry()
        if fault == "pg-sink":
            return sink_child(procs["sink"], db_port)
        if fault == "redis-writer":
            return sink_child(procs["sink"], redis_port)
        return procs[SERVERS.get(fault, fault)]

    def kill_all(self) -> list[int]:
        """kill -9 ``pitwall up`` and every process group it recorded, at once; the pids."""
        assert self.up is not None
        groups = [self.up.pid, *self.registry().values()]
        for pgid in groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
        self.up.wait(10)
        return groups

    def stop(self) -> str:
        """SIGTERM to ``pitwall up`` (SIGKILL to its group after 90 s); what it left."""
        if self.up is None:
            return "not started"
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.up.pid, signal.SIGTERM)
        try:
            self.up.wait(90)
        except subprocess.TimeoutExpired:
            os.killpg(self.up.pid, signal.SIGKILL)
        path = self.state / "processes.json"
        left = json.loads(path.read_text()) if path.exists() else []
        code = self.up.returncode
        return f"pitwall up stopped by SIGTERM (exit {code}); processes left: {len(left)}"


def sink_child(sink_pid: int, port: int) -> int:
    """The child of ``pitwall sink`` connected to ``port`` (PostgreSQL: pg-sink; Redis:
    the Redis writer)."""
    for child in psutil.Process(sink_pid).children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if any(c.raddr and c.raddr.port == port for c in child.net_connections("tcp")):
                return child.pid
    raise RuntimeError(f"no child of pitwall sink ({sink_pid}) connected to port {port}")
