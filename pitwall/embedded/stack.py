"""The stack: embedded servers for every unset URL, started together and stopped together.

``Stack.start()`` returns the URLs (as environment variables) and records them in the
state directory's ``stack.env`` with the owner's pid, so that other processes on this
machine use the same servers; ``stop()`` removes the file again.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from types import TracebackType

from core.settings import Settings, stack_env_owner, write_stack_env
from pitwall.embedded.base import EmbeddedServer, ServerStartError
from pitwall.embedded.kafka import TansuBroker
from pitwall.embedded.postgres import EmbeddedPostgres
from pitwall.embedded.redis import EmbeddedRedis


class Stack:
    """Starts an embedded broker, PostgreSQL and Redis where the settings name none."""

    def __init__(
        self,
        settings: Settings,
        ports: dict[str, int] | None = None,
        write_env_file: bool = True,
    ) -> None:
        self.settings = settings
        self.state_dir = settings.state_dir
        self.ports = ports or {}
        self.write_env_file = write_env_file
        self.servers: list[EmbeddedServer] = []
        self.urls: dict[str, str] = {}

    def _wanted(self) -> list[EmbeddedServer]:
        wanted: list[EmbeddedServer] = []
        table: list[tuple[str | None, Callable[..., EmbeddedServer], str]] = [
            (self.settings.kafka_bootstrap, TansuBroker, "kafka"),
            (self.settings.database_url, EmbeddedPostgres, "postgres"),
            (self.settings.redis_url, EmbeddedRedis, "redis"),
        ]
        for configured, cls, slug in table:
            if not configured:
                server = cls(self.state_dir, self.ports.get(slug))
                if isinstance(server, EmbeddedPostgres):
                    server.durable = self.settings.pg_durable
                wanted.append(server)
        return wanted

    def start(self, on_started: Callable[[EmbeddedServer], None] | None = None) -> dict[str, str]:
        """Start what is needed; on any failure stop what did start and re-raise."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        try:
            for server in self._wanted():
                server.start()
                self.servers.append(server)
                self.urls[server.env_var] = server.url
                if on_started:
                    on_started(server)
        except BaseException:
            self.stop()
            raise
        if self.write_env_file and self.urls:
            write_stack_env(self.settings.stack_env_file, self.urls)
        return dict(self.urls)

    def stop(self) -> None:
        """Stop every server this stack started, in reverse order."""
        for server in reversed(self.servers):
            server.stop()
        self.servers.clear()
        env_file = self.settings.stack_env_file
        if self.write_env_file and env_file.exists() and stack_env_owner(env_file) == os.getpid():
            env_file.unlink(missing_ok=True)

    def dead(self) -> list[EmbeddedServer]:
        """Servers that have exited on their own."""
        return [s for s in self.servers if not s.alive()]

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


__all__ = ["ServerStartError", "Stack"]
