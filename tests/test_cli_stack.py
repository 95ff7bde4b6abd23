"""The ``pitwall`` stack and topic commands as users run them: clear errors, no tracebacks."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from core.settings import Settings
from pitwall.embedded.base import free_port
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
    port = free_port()
    run = pitwall("topics", "create", env={"KAFKA_BOOTSTRAP": f"127.0.0.1:{port}"}, timeout=120)
    assert run.returncode == 1
    assert "Could not reach the broker" in run.stdout + run.stderr


def _leftovers(state_dir: Path) -> dict[int, str]:
    """Processes still running for ``state_dir``: with it as their PITWALL_STATE_DIR, or
    working in it (Valkey and PostgreSQL's backends rewrite their environment's memory for
    their process titles, but work in their data directories): pid -> command."""
    mark = f"PITWALL_STATE_DIR={state_dir}".encode()
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cwd = Path(os.readlink(proc / "cwd"))
            if mark in (proc / "environ").read_bytes().split(b"\0") or cwd.is_relative_to(
                state_dir
            ):
                command = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
                found[int(proc.name)] = command.decode()
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_demo_starts_at_lights_out_and_a_stop_signal_stops_everything(
    tmp_path: Path, stop: signal.Signals
) -> None:
    """``make demo`` as a user sees it: its own stack, the race under way at once (not an hour
    of pre-race feed at 1x), and one Ctrl-C (SIGINT) or a ``kill``/``docker stop`` (SIGTERM)
    during the replay stops every process it started."""
    port = free_port()
    env = {
        **os.environ,
        "COLUMNS": "200",
        "PITWALL_STATE_DIR": str(tmp_path),
        "KAFKA_BOOTSTRAP": "",
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "PITWALL_API_PORT": str(port),
    }
    demo = subprocess.Popen(
        [sys.executable, "-m", "pitwall.cli", "demo", "2023", "Monaco", "--speed", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(x) for x in demo.stdout], daemon=True)
    reader.start()
    out: list[str] = []
    try:
        deadline = time.monotonic() + 300
        while not any("Dashboard:" in line for line in out):
            assert time.monotonic() < deadline and demo.poll() is None, "".join(out)
            with contextlib.suppress(queue.Empty):
                out.append(lines.get(timeout=1))
        base = f"http://127.0.0.1:{port}"
        assert f"{base}/?session=2023-monaco-R" in "".join(out)
        session: dict = {}
        deadline = time.monotonic() + 60
        while session.get("status") != "Started":
            assert time.monotonic() < deadline, f"session never started: {session}"
            time.sleep(1)
            with contextlib.suppress(httpx.HTTPError):
                listed = httpx.get(f"{base}/sessions", timeout=5).json()
                session = next((s for s in listed if s["session_key"] == "2023-monaco-R"), {})
        assert "Timing tower" in httpx.get(f"{base}/", timeout=5, follow_redirects=True).text

        demo.send_signal(stop)  # what Ctrl-C sends (the services run in sessions of
        demo.wait(120)  # their own, so only the demo itself gets it)
    finally:
        if demo.poll() is None:
            demo.kill()
        reader.join(10)
        while not lines.empty():
            out.append(lines.get())
        left = _leftovers(tmp_path)
        for pid in left:  # whatever the outcome, leave no server behind for the later tests
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    text = "".join(out)
    assert demo.returncode == 0, text
    assert "Interrupted" in text and "Stopping..." in text and "Traceback" not in text
    assert "keeps running" not in text
    assert left == {}, text
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base}/health/live", timeout=5)


def _read_until(proc: subprocess.Popen, lines: queue.Queue, out: list[str], text: str) -> None:
    deadline = time.monotonic() + 180
    while not any(text in line for line in out):
        assert time.monotonic() < deadline and proc.poll() is None, "".join(out)
        with contextlib.suppress(queue.Empty):
            out.append(lines.get(timeout=1))


def _start_up(env: dict[str, str]) -> tuple[subprocess.Popen, queue.Queue, list[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "pitwall.cli", "up"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    out: list[str] = []
    _read_until(proc, lines, out, "Stack running")
    return proc, lines, out


def test_up_killed_is_cleaned_up_by_the_next_run_which_sighup_stops(tmp_path: Path) -> None:
    """kill -9 of ``pitwall up`` leaves its servers running (they are in sessions of their
    own); the next ``pitwall up`` stops them first, and SIGHUP (a closed terminal) stops it
    with everything it started."""
    env = {
        **os.environ,
        "COLUMNS": "200",
        "PITWALL_STATE_DIR": str(tmp_path),
        "KAFKA_BOOTSTRAP": "",
        "DATABASE_URL": "",
        "REDIS_URL": "",
    }
    first = second = None
    try:
        first, _, _ = _start_up(env)
        recorded = json.loads((tmp_path / "processes.json").read_text())
        assert sorted(e["name"] for e in recorded) == [
            "embeddedpostgres",
            "embeddedredis",
            "tansubroker",
        ]
        servers = set(_leftovers(tmp_path)) - {first.pid}
        assert {e["pid"] for e in recorded} <= servers
        first.kill()
        first.wait(10)
        assert servers <= set(_leftovers(tmp_path))  # orphans: what the fix has to clean up

        second, _, out = _start_up(env)
        assert "left running by an earlier run that was killed" in "".join(out)
        assert not servers & set(_leftovers(tmp_path))
        second.send_signal(signal.SIGHUP)
        second.wait(60)
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
        left = _leftovers(tmp_path)
        for pid in left:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    assert second.returncode == 0
    assert left == {}
    assert json.loads((tmp_path / "processes.json").read_text()) == []
