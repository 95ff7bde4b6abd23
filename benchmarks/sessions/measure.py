"""What the many-races benchmark measures: per session the lap -> strategy latency and the
laps covered, over all sessions where the updates' time goes, and the CPU each process used
and waited for while the races ran."""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil
from harness import covering_ms, percentile

from schemas import StrategyEvent
from sessions.races import Race


@dataclass
class SessionResult:
    """The figures of one session in one configuration."""

    name: str
    key: str
    partition: int
    leader_laps: int
    covered: int
    updates: int
    laps: int
    lap_received: list[tuple[int, float]]  # (lap number, ms) per covered lap
    lap_produced_ms: list[float]
    max_lag_s: float

    @property
    def lap_received_ms(self) -> list[float]:
        return [ms for _, ms in self.lap_received]

    @property
    def from_lap2_ms(self) -> list[float]:
        """Without lap 1, when every race of the run crosses the line in the same seconds
        (they all start at once)."""
        return [ms for lap, ms in self.lap_received if lap > 1]

    @property
    def p99(self) -> float:
        return percentile(self.lap_received_ms, 99)


@dataclass
class RunResult:
    """One configuration: its sessions, where the time went and the CPU it used."""

    workers: int
    sessions: list[SessionResult] = field(default_factory=list)
    hops: dict[str, list[float]] = field(default_factory=dict)
    #: name, user s, sys s, s waiting for a CPU
    cpu: list[tuple[str, float, float, float]] = field(default_factory=list)
    seconds: float = 0.0
    machine_busy: float = 0.0  # cores
    #: the worker processes' resident memory (MB) once the races are in
    rss_mb: float = 0.0
    #: sessions whose cached state / table rows the worker let go of (from its log)
    released: int = 0
    deleted: int = 0


def session_result(race: Race, got: list[tuple[datetime, StrategyEvent]]) -> SessionResult:
    leader = {ev.lap for _, ev in got if 1 <= ev.lap <= race.leader_laps}
    laps = race.laps
    assert race.producer is not None
    return SessionResult(
        name=race.name,
        key=race.key,
        partition=race.partition,
        leader_laps=race.leader_laps,
        covered=len(leader),
        updates=len(got),
        laps=len(laps),
        lap_received=covering_ms(laps, got, received=True),
        lap_produced_ms=[ms for _, ms in covering_ms(laps, got, received=False)],
        max_lag_s=race.producer.max_lag,
    )


def hops(got: list[tuple[datetime, StrategyEvent]]) -> dict[str, list[float]]:
    """Where the time of the updates goes, over every session."""
    ms: dict[str, list[float]] = defaultdict(list)
    for at, ev in got:
        if ev.source_produced_at is None:
            continue
        total = (ev.produced_at - ev.source_produced_at).total_seconds() * 1000
        ms["trigger produced -> strategy produced"].append(total)
        if ev.compute_ms is not None:
            ms["  of which recommend(), Monte Carlo (compute_ms)"].append(ev.compute_ms)
            ms["  of which the rest: in, queued, battles, out"].append(total - ev.compute_ms)
        ms["strategy produced -> received"].append((at - ev.produced_at).total_seconds() * 1000)
    return ms


def runq_wait(pid: int) -> float:
    """Seconds the threads of ``pid`` have spent runnable but waiting for a CPU (Linux's
    /proc/PID/task/*/schedstat, second field; 0 where it is not available): how much a
    process was held up by the others on the machine."""
    total = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += int(stat.read_text().split()[1])
    return total / 1e9


class CpuMeter:
    """User + sys CPU seconds of named processes (and a worker's process tree) between
    :meth:`start` and :meth:`stop`, the time they waited for a CPU, and how busy the whole
    machine was meanwhile."""

    def __init__(self, procs: dict[str, psutil.Process]) -> None:
        self.procs = procs
        self.before: dict[str, tuple[float, float, float]] = {}
        self.t0 = 0.0
        self.machine0: Any = None

    @staticmethod
    def tree(pid: int, name: str) -> dict[str, psutil.Process]:
        """``pid`` and its children, named: ``pitwall worker --processes N`` is a supervisor
        whose spawned children are the workers."""
        root = psutil.Process(pid)
        kids = [
            c
            for c in root.children(recursive=True)
            if "resource_tracker" not in " ".join(c.cmdline())
        ]
        if not kids:
            return {name: root}
        named = {f"{name} process {i + 1}": c for i, c in enumerate(kids)}
        return {f"{name} supervisor": root, **named}

    def _times(self) -> dict[str, tuple[float, float, float]]:
        out = {}
        for name, p in self.procs.items():
            try:
                t = p.cpu_times()
            except psutil.Error:
                continue
            out[name] = (t.user, t.system, runq_wait(p.pid))
        return out

    def start(self) -> None:
        self.before = self._times()
        self.t0 = time.monotonic()
        self.machine0 = psutil.cpu_times()

    def stop(self, result: RunResult) -> None:
        after = self._times()
        result.seconds = time.monotonic() - self.t0
        m0, m1 = self.machine0, psutil.cpu_times()
        idle = (m1.idle - m0.idle) + (getattr(m1, "iowait", 0) - getattr(m0, "iowait", 0))
        result.machine_busy = (sum(m1) - sum(m0) - idle) / result.seconds
        for name, (u, s, w) in after.items():
            u0, s0, w0 = self.before.get(name, (0.0, 0.0, 0.0))
            result.cpu.append((name, u - u0, s - s0, w - w0))
