"""A real race replayed by ``simulate_live`` (as users run it), for the consumer-side tests.

2023 Monaco goes into the embedded broker at max speed under a session key of its own; the
tests read it back through the standard Kafka clients, ``pitwall tail`` and the README's
examples.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass

import pytest

from core.settings import Settings
from schemas.topics import LAPS
from tests.api.conftest import MONACO_LAPS
from tests.kafka_utils import end_offsets


@dataclass(frozen=True)
class Replayed:
    """A replayed race: its session key and where its laps start on ``f1.laps.v1``."""

    session_key: str
    laps_from: dict[int, int]
    laps: int


def run_cli(
    *args: str,
    module: str = "pitwall.cli",
    timeout: float = 300,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``pitwall ARGS`` (or ``simulate_live`` with module="pitwall.commands.replay") as a user
    runs it."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        env={**(env or os.environ), "COLUMNS": "200"},
        timeout=timeout,
    )


@pytest.fixture(scope="session")
def monaco(stack: Settings) -> Replayed:
    """2023 Monaco replayed once at max speed under a fresh key."""
    key = f"2023-monaco-R-clients{uuid.uuid4().hex[:6]}"
    before = end_offsets(LAPS.name)
    run = run_cli(
        "2023", "Monaco", "--speed", "max", "--session-key", key, module="pitwall.commands.replay"
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return Replayed(key, before, MONACO_LAPS)
