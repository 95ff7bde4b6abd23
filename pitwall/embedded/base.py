"""What every embedded server shares: a subprocess, a port, a log and a readiness wait."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from abc import ABC, abstractmethod
from pathlib import Path


class ServerStartError(RuntimeError):
    """An embedded server could not start; the message says why and where its log is."""


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class EmbeddedServer(ABC):
    """A server run as a child process, listening on 127.0.0.1:``port``."""

    #: Human name used in messages, e.g. "Kafka broker (Tansu)".
    name: str = "server"
    #: Settings/environment variable the server's URL is published as.
    env_var: str = ""
    #: Whether a restart comes back empty (memory storage): what its clients hold of it
    #: (offsets, group positions, table changelogs) is gone with it.
    volatile: bool = False

    def __init__(self, state_dir: Path, port: int | None = None) -> None:
        self.state_dir = state_dir
        self.requested_port = port
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = state_dir / "logs" / f"{self.slug}.log"

    @property
    def slug(self) -> str:
        return type(self).__name__.lower()

    @property
    @abstractmethod
    def url(self) -> str:
        """Where clients connect."""

    @abstractmethod
    def command(self) -> list[str]:
        """The server's command line."""

    @abstractmethod
    def ready(self) -> bool:
        """True once the server answers a real request."""

    def prepare(self) -> None:  # noqa: B027 - optional hook
        """Set-up before the first start (data directories, users)."""

    def popen_kwargs(self) -> dict[str, object]:
        return {}

    def start(self, timeout: float = 30.0) -> str:
        """Start the server, wait until it answers, and return its URL."""
        if self.requested_port and port_in_use(self.requested_port):
            raise ServerStartError(
                f"{self.name}: port {self.requested_port} is already in use. Stop what listens "
                f"there, choose another port, or set {self.env_var} to use that server."
            )
        self.port = self.requested_port or free_port()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.prepare()
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps it open
        try:
            self.proc = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                **self.popen_kwargs(),  # type: ignore[arg-type]
            )
        except OSError as exc:
            raise ServerStartError(f"{self.name}: could not run its binary: {exc}") from exc
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerStartError(
                    f"{self.name} exited with code {self.proc.returncode} while starting. "
                    f"Last lines of {self.log_path}:\n{self.tail_log()}"
                )
            try:
                if self.ready():
                    return self.url
            except Exception:
                pass
            time.sleep(0.1)
        self.stop()
        raise ServerStartError(
            f"{self.name} did not answer within {timeout:.0f} s. Log {self.log_path}:\n"
            f"{self.tail_log()}"
        )

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL) if it is running."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout)
        except ProcessLookupError:
            pass

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail_log(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
