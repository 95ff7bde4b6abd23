"""Fixtures of the API tests: the app in-process (httpx ASGITransport, lifespan run), a real
``pitwall serve`` subprocess for WebSockets and the browser, and the real pipeline (sink, and
the stream worker when present) started as users start them, fed by a real race replay.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from core.settings import Settings
from pitwall.embedded.base import free_port

REPO = Path(__file__).resolve().parents[2]
RACE = (2023, "Monaco")
MONACO_LAPS = 1515  # laps in 2023 Monaco R (20 drivers, 78 laps, retirements)


def has_command(name: str) -> bool:
    return importlib.util.find_spec(f"pitwall.commands.{name}") is not None


class Service:
    """A ``python -m pitwall.cli ...`` child process with its log."""

    def __init__(
        self, name: str, args: list[str], log_dir: Path, env: dict[str, str] | None = None
    ) -> None:
        self.name = name
        self.log = log_dir / f"{name}.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pitwall.cli", *args],
            env={**os.environ, **(env or {})},
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            cwd=REPO,
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self) -> str:
        return self.log.read_text()[-3000:] if self.log.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


def wait_until(predicate, timeout: float, what: str, services: list[Service] = ()) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        for s in services:
            if not s.alive():
                pytest.fail(f"{s.name} exited while waiting for {what}:\n{s.tail()}")
        time.sleep(0.1)
    logs = "\n".join(f"--- {s.name}\n{s.tail()}" for s in services)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{logs}")


@contextlib.contextmanager
def serving(
    name: str, workdir: Path, env: dict[str, str] | None = None, port: int | None = None
) -> Iterator[str]:
    """A real ``pitwall serve`` on ``port`` (default: a free one), as users start it; yields
    its base URL once it answers, and stops it after."""
    port = port if port is not None else free_port()
    svc = Service(name, ["serve", "--port", str(port)], workdir, env=env)
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(f"{base}/health/live", timeout=1).status_code == 200
        return False

    try:
        wait_until(up, 60, "pitwall serve to answer", [svc])
        yield base
    finally:
        svc.stop()


@pytest.fixture(scope="session")
def server(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``pitwall serve`` on a free port; yields its base URL."""
    with serving("serve", tmp_path_factory.mktemp("serve")) as base:
        yield base


@pytest.fixture(scope="session")
def timeline(stack: Settings):
    from replay.timeline import build_timeline

    return build_timeline(*RACE, settings=stack)


def publish(timeline, speed: float | None = None) -> None:
    from core.settings import get_settings
    from producers.kafka import EventProducer
    from replay.simulate import publish_timeline

    producer = EventProducer(get_settings().require_kafka)
    try:
        publish_timeline(timeline, producer, speed=speed)
    finally:
        producer.close()


def unique_key(timeline, tag: str) -> str:
    return f"{timeline.session_key}-{tag}{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="session")
def landed(stack: Settings, pipeline: dict, timeline) -> str:
    """A whole 2023 Monaco replayed at max speed through the pipeline and stored; its key."""
    import psycopg

    key = unique_key(timeline, "api")
    publish(timeline.with_session_key(key))

    def stored() -> bool:
        try:
            with psycopg.connect(stack.require_database) as conn:
                n = conn.execute("SELECT count(*) FROM laps WHERE session_key = %s", (key,))
                return n.fetchone()[0] >= MONACO_LAPS
        except psycopg.Error:
            return False

    wait_until(stored, 120, f"{MONACO_LAPS} laps of {key} in PostgreSQL", pipeline["services"])

    # The Redis writer reads every topic (timing too) and may finish after PostgreSQL's laps.
    import orjson
    import redis

    from schemas.live import session_key_name

    r = redis.Redis.from_url(stack.require_redis)

    def live_state_done() -> bool:
        row = r.hget(session_key_name(key, "standings"), "VER")
        return row is not None and orjson.loads(row).get("lap_number") == 78

    try:
        wait_until(live_state_done, 120, f"the last lap of {key} in Redis", pipeline["services"])
    finally:
        r.close()
    return key


@pytest.fixture
async def client(stack: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app in-process, lifespan run, over httpx's ASGI transport."""
    from api.main import create_app
    from core.settings import get_settings

    app = create_app(get_settings())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as c:
            yield c
