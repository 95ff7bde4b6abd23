"""The ``pitwall`` stack and topic commands as users run them: clear errors, no tracebacks."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from pitwall.settings import Settings
from schemas.topics import ALL_TOPICS


def pitwall(*args: str, env: dict[str, str] | None = None, timeout: float = 60):
    return subprocess.run(
        [sys.executable, "-m", "pitwall.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        timeout=timeout,
    )


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {
            "PITWALL_STATE_DIR": str(tmp_path),
            "KAFKA_BOOTSTRAP": "",
            "DATABASE_URL": "postgresql://unused",
            "REDIS_URL": "redis://unused",
        }
        run = pitwall("up", "--kafka-port", str(port), env=env)
    out = run.stdout + run.stderr
    assert run.returncode == 1
    assert f"port {port} is already in use" in " ".join(out.split())
    assert "Traceback" not in out


def test_schemas_export_writes_one_schema_per_topic(tmp_path: Path) -> None:
    run = pitwall("schemas", "export", str(tmp_path))
    assert run.returncode == 0, run.stdout + run.stderr
    for topic in ALL_TOPICS:
        schema = json.loads((tmp_path / f"{topic.name}.schema.json").read_text())
        assert "session_key" in schema["properties"] or topic.name == "f1.dlq.v1"


def test_topics_create_is_idempotent(stack: Settings) -> None:
    run = pitwall("topics", "create")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "exists" in run.stdout + run.stderr


def test_unreachable_broker_is_a_clear_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = pitwall("topics", "create", env={"KAFKA_BOOTSTRAP": f"127.0.0.1:{port}"}, timeout=120)
    assert run.returncode == 1
    assert "Could not reach the broker" in run.stdout + run.stderr
