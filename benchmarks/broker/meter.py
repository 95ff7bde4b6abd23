"""CPU share of named processes per interval (a minute by default), and of the machine.

Each process is a root and its children (``pitwall worker``, ``pitwall serve`` may run the work
in a child), summed; a process that is gone counts as 0. The share is of one core: 100% is a
core busy for the whole interval.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psutil


@dataclass
class Row:
    """One interval of one phase: its length and each process's share of a core (%)."""

    phase: str
    index: int
    seconds: float
    shares: dict[str, float]
    machine: float  # % of one core, every process on the machine
    others: float  # the machine less the named processes: other people's work


@dataclass
class Meter:
    """Per interval, the CPU of named process trees (added with :meth:`watch`)."""

    interval: float
    say: Callable[[Row], None]
    procs: dict[str, psutil.Process] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    _seen: dict[tuple[str, int], float] = field(default_factory=dict)

    def watch(self, name: str, pid: int) -> None:
        self.procs[name] = psutil.Process(pid)

    def _cpu(self) -> dict[str, float]:
        """Each name's CPU seconds so far, counting the processes seen in its tree (a child
        that exits keeps the seconds it was last seen with)."""
        out = {}
        for name, root in self.procs.items():
            try:
                tree = [root, *root.children(recursive=True)]
            except psutil.Error:
                tree = []
            for p in tree:
                try:
                    t = p.cpu_times()
                    self._seen[(name, p.pid)] = t.user + t.system
                except psutil.Error:
                    continue
            out[name] = sum(v for (n, _), v in self._seen.items() if n == name)
        return out

    @staticmethod
    def _machine() -> float:
        t = psutil.cpu_times()
        return sum(t) - t.idle - getattr(t, "iowait", 0.0)

    def run_phase(self, phase: str, until: Callable[[], bool], limit: float | None) -> None:
        """Sample until ``until()`` or ``limit`` seconds; a row every interval (and a last,
        shorter one when the phase ends mid-interval, if it lasted 10 s or more)."""
        start = time.monotonic()
        t0, cpu0, m0 = start, self._cpu(), self._machine()
        index = 0
        while True:
            time.sleep(1.0)
            now = time.monotonic()
            ended = until() or (limit is not None and now - start >= limit)
            if now - t0 >= self.interval or (ended and now - t0 >= 10.0):
                cpu1, m1 = self._cpu(), self._machine()
                self._row(phase, index, now - t0, cpu0, cpu1, m1 - m0)
                index += 1
                t0, cpu0, m0 = now, cpu1, m1
            if ended:
                return

    def _row(
        self,
        phase: str,
        index: int,
        seconds: float,
        cpu0: dict[str, float],
        cpu1: dict[str, float],
        machine: float,
    ) -> None:
        shares = {n: (cpu1.get(n, 0.0) - cpu0.get(n, 0.0)) / seconds * 100 for n in self.procs}
        busy = machine / seconds * 100
        row = Row(phase, index, seconds, shares, busy, max(0.0, busy - sum(shares.values())))
        self.rows.append(row)
        self.say(row)
