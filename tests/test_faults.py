"""Faults in the suite: a short run of ``benchmarks/faults.py``. Part of a race replayed at 20x
into ``pitwall up --with worker --with sink --with api`` (its own embedded servers, durable
PostgreSQL) while the stream worker, the PostgreSQL sink and the embedded broker are each
killed with SIGKILL once; then nothing of the replay is missing from PostgreSQL or stored
twice, every strategy update the last broker carried is stored once and every leader lap
has one. The recovery times are printed, never asserted (benchmarks measure them)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from faults import FaultRun, print_table, run_faults

pytestmark = pytest.mark.integration


def test_worker_sink_and_broker_killed_lose_and_duplicate_nothing() -> None:
    run = FaultRun(
        speed=20.0,
        gap=15.0,
        faults=("worker", "pg-sink", "broker"),
        clients=2,
        recovery_timeout=60.0,
        to_lap=16,
        first=8.0,
    )
    verdict = run_faults(run)
    print_table(verdict)
    report = "\n".join(verdict.lines + verdict.failures)
    assert [row[0] for row in verdict.rows] == list(run.faults), report
    not_back = [row[0] for row in verdict.rows if None in row[1:3]]
    assert not not_back, f"not recovered: {not_back}\n{report}"
    assert verdict.lost == 0, report
    assert verdict.duplicated == 0, report
    assert verdict.ok, report
