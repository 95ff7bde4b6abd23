"""What the benchmarks share: the servers they run on, the pitwall processes they start, a
reader of the strategy topic and the lap -> strategy latency read from it, and percentiles.

A benchmark runs on the configured servers (``KAFKA_BOOTSTRAP``, ``DATABASE_URL``,
``REDIS_URL``, or a running ``pitwall up``) and starts embedded ones, in a temporary state
directory, for those it needs that are not set; it starts pitwall's services as users do
(``python -m pitwall.cli ...``), each with its log, and stops everything at the end::

    with Harness("kafka", "redis") as h:
        h.create_topics()
        worker = h.spawn("worker", "worker")
        ...

Percentiles are nearest-rank (numpy's ``nearest``), so every figure is one of the values.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from core.settings import Settings, get_settings
from pitwall.embedded.base import EmbeddedServer, free_port

REPO = Path(__file__).resolve().parent.parent
console = Console()

#: The servers a benchmark may need -> the Settings field naming each one's URL.
SERVERS = {"kafka": "kafka_bootstrap", "postgres": "database_url", "redis": "redis_url"}
#: What a stream worker logs (at INFO) once it has joined its group and is ready.
WORKER_READY = "[^Worker]: Ready"

__all__ = [
    "REPO",
    "WORKER_READY",
    "Harness",
    "StrategyReader",
    "console",
    "covering_ms",
    "free_port",
    "has_command",
    "int_list",
    "percentile",
    "percentile_cells",
    "poll_until",
    "wait_for",
    "wait_http",
]


class Harness:
    """The servers of one benchmark run and the service processes it starts."""

    def __init__(self, *need: str) -> None:
        unknown = set(need) - set(SERVERS)
        if unknown:
            raise ValueError(f"unknown servers {sorted(unknown)}; known: {sorted(SERVERS)}")
        self.need = need
        self.stack: Any = None
        #: The embedded servers' state directory (None when all were configured).
        self.state_dir: Path | None = None
        self.settings: Settings = get_settings()
        self.procs: list[tuple[str, subprocess.Popen, bool]] = []
        self._logs: Path | None = None
        #: The environment variables the embedded servers' URLs replaced (None: were unset),
        #: restored on exit so that a later Harness in the same run starts servers of its own.
        self._saved_env: dict[str, str | None] = {}

    # -- servers ---------------------------------------------------------------------------
    def __enter__(self) -> Harness:
        settings = get_settings()
        missing = [s for s in self.need if not getattr(settings, SERVERS[s])]
        if missing:
            from pitwall.embedded import Stack

            self.state_dir = Path(tempfile.mkdtemp(prefix="pitwall-bench-"))
            unused = {
                field: "unused"
                for server, field in SERVERS.items()
                if server not in self.need and not getattr(settings, field)
            }
            self.stack = Stack(
                Settings(state_dir=self.state_dir, **unused),  # type: ignore[arg-type]
                write_env_file=False,
            )

            def started(server: EmbeddedServer) -> None:
                console.print(f"embedded {server.name} at {server.url}")

            try:
                with console.status(f"starting the embedded {', '.join(missing)}..."):
                    urls = self.stack.start(started)
                self._saved_env = {k: os.environ.get(k) for k in urls}
                os.environ.update(urls)
            except BaseException:
                self._remove_state()
                raise
            get_settings.cache_clear()
            self.settings = get_settings()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_processes()
        if self.stack is not None:
            self.stack.stop()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if self._saved_env:
            get_settings.cache_clear()
        self._remove_state()

    def _remove_state(self) -> None:
        if self.state_dir is not None:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def create_topics(self, partitions: int | None = None) -> list:
        """Create pitwall's topics (race topics with ``partitions``, default the settings')."""
        from producers.admin import create_topics

        count = self.settings.kafka_partitions if partitions is None else partitions
        return create_topics(self.settings.require_kafka, count)

    # -- pitwall's services ------------------------------------------------------------------
    @property
    def env(self) -> dict[str, str]:
        """The environment of the service processes: this process's, with the embedded
        servers' URLs and, when they run, their state directory."""
        env = dict(os.environ)
        if self.state_dir is not None:
            env["PITWALL_STATE_DIR"] = str(self.state_dir)
        return env

    def spawn(self, name: str, *args: str, new_session: bool = True) -> subprocess.Popen:
        """Start ``python -m pitwall.cli ARGS`` as ``name``, its output in its own log.

        ``new_session``: in a session (so a process group, and a scheduling group) of its
        own, as a service started from its own terminal would be.
        """
        if self._logs is None:
            self._logs = Path(tempfile.mkdtemp(prefix="pitwall-bench-logs-"))
        with open(self._logs / f"{name}.log", "w") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "pitwall.cli", *args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=new_session,
                cwd=REPO,
            )
        self.procs.append((name, proc, new_session))
        return proc

    def log_tail(self, name: str, chars: int = 2000) -> str:
        path = self._logs / f"{name}.log" if self._logs else None
        return path.read_text()[-chars:] if path is not None and path.exists() else ""

    def exited(self) -> list[tuple[str, int]]:
        """The services that have exited, with their exit codes."""
        return [(name, p.returncode) for name, p, _ in self.procs if p.poll() is not None]

    def stop_processes(self, timeout: float = 15.0) -> None:
        """Stop every service (SIGTERM, SIGKILL after ``timeout``); keep the logs of any that
        failed and say where they are."""
        for _, p, own_group in self.procs:
            if p.poll() is None:
                _signal(p, signal.SIGTERM, own_group)
        for _, p, own_group in self.procs:
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal(p, signal.SIGKILL, own_group)
                p.wait()
        failed = [
            (name, p.returncode)
            for name, p, _ in self.procs
            if p.returncode not in (0, -signal.SIGTERM)
        ]
        for name, code in failed:
            console.print(f"{name} exit code {code}; log: {self._logs}/{name}.log")
        if self._logs is not None and not failed:
            shutil.rmtree(self._logs, ignore_errors=True)
        self.procs.clear()


def _signal(proc: subprocess.Popen, sig: int, own_group: bool) -> None:
    with contextlib.suppress(ProcessLookupError):
        if own_group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)


def has_command(name: str) -> bool:
    """Whether this checkout has ``pitwall NAME``."""
    return importlib.util.find_spec(f"pitwall.commands.{name}") is not None


# -- waiting ------------------------------------------------------------------------------
def poll_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.1) -> bool:
    """Call ``predicate`` every ``interval`` s until it is true (True) or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def wait_for(
    predicate: Callable[[], Any],
    timeout: float,
    what: str,
    procs: Iterable[tuple[str, subprocess.Popen]] = (),
    interval: float = 0.02,
) -> None:
    """Wait until ``predicate`` is true; stop the benchmark if a process of ``procs`` exits
    meanwhile or ``timeout`` passes."""
    procs = list(procs)

    def done() -> bool:
        for name, proc in procs:
            if proc.poll() is not None:
                raise SystemExit(f"the {name} exited ({proc.returncode}) while waiting for {what}")
        return bool(predicate())

    if not poll_until(done, timeout, interval):
        raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")


def wait_http(url: str, timeout: float, name: str, proc: subprocess.Popen) -> None:
    """Wait until ``url`` answers 200 (the service ``name`` run by ``proc`` is up)."""
    import httpx

    def up() -> bool:
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(url, timeout=1).status_code == 200
        return False

    wait_for(up, timeout, f"{url} to answer", [(name, proc)], interval=0.2)


def int_list(text: str) -> list[int]:
    """A comma-separated list of counts on the command line ("1,2")."""
    return [int(x) for x in text.split(",")]


# -- percentiles --------------------------------------------------------------------------
def percentile(values: Iterable[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile of ``values`` (NaN when there are none)."""
    data = np.fromiter(values, dtype=float)
    if data.size == 0:
        return float("nan")
    return float(np.percentile(data, q, method="nearest"))


def percentile_cells(
    values: Iterable[float], qs: Iterable[float] = (50, 95, 99, 100), fmt: str = "{:.1f}"
) -> list[str]:
    """Table cells of the ``qs`` percentiles of ``values`` (100: the maximum)."""
    data = np.fromiter(values, dtype=float)
    return [fmt.format(percentile(data, q)) for q in qs]


def covering_ms(
    laps: Iterable[Any], got: list[tuple[datetime, Any]], received: bool
) -> list[tuple[int, float]]:
    """Per lap event, its number and ms from its produced_at to the earliest arrival
    (``received``) or produced_at of a strategy update covering it (source_produced_at at or
    after the lap's produced_at), in the laps' produced_at order. ``got`` holds (arrival,
    StrategyEvent) pairs, as :class:`StrategyReader` keeps them. Laps that no update covers
    are left out (they show in the laps counts)."""
    when = [(ev.source_produced_at, at if received else ev.produced_at) for at, ev in got]
    when = [(s, w) for s, w in when if s is not None]
    when.sort(key=lambda p: p[0])
    earliest = [w for _, w in when]
    for k in range(len(earliest) - 2, -1, -1):  # earliest time among updates from k on
        earliest[k] = min(earliest[k], earliest[k + 1])
    out, j = [], 0
    for lap in sorted(laps, key=lambda e: e.produced_at):
        while j < len(when) and when[j][0] < lap.produced_at:
            j += 1
        if j < len(when):
            out.append((lap.lap_number, (earliest[j] - lap.produced_at).total_seconds() * 1000))
    return out


class StrategyReader(threading.Thread):
    """A plain consumer (assign, no group) of f1.strategy.v1 from its current end: each
    session's updates with the time this process received them."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(daemon=True)
        from confluent_kafka import Consumer, TopicPartition

        from core.kafka import consumer_config, end_offsets
        from schemas.topics import STRATEGY

        self.consumer = Consumer(consumer_config(settings, None))
        ends = end_offsets(settings.require_kafka, STRATEGY.name)
        self.consumer.assign([TopicPartition(STRATEGY.name, p, o) for p, o in ends.items()])
        self.received: dict[str, list[tuple[datetime, Any]]] = defaultdict(list)
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def run(self) -> None:
        from core.kafka import poll_batch
        from schemas import decode
        from schemas.topics import STRATEGY

        while not self.stop.is_set():
            for msg in poll_batch(self.consumer, 1000, 0.05):
                at = datetime.now(UTC)
                ev = decode(STRATEGY.name, msg.value())
                with self.lock:
                    self.received[ev.session_key].append((at, ev))
        self.consumer.close()

    def of(self, session_key: str) -> list[tuple[datetime, Any]]:
        with self.lock:
            return list(self.received.get(session_key, ()))
