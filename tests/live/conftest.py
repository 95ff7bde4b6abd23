"""Paths of the raw live-timing recordings, and the FP2 reference session parsed once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.settings import get_settings
from producers.live import LiveParser
from schemas import Envelope
from tests.live.reference import parse_all


def _data_dir() -> Path:
    return get_settings().data_dir


@pytest.fixture(scope="session")
def raw_dir() -> Path:
    path = _data_dir() / "livetiming_raw"
    if not path.is_dir():
        pytest.skip(f"no live-timing archive data at {path}")
    return path


@pytest.fixture(scope="session")
def fp2_dir(raw_dir: Path) -> Path:
    return raw_dir / "fastf1_reference" / "2020_05_FP2"


@pytest.fixture(scope="session")
def aus2026_dir(raw_dir: Path) -> Path:
    return raw_dir / "seasons" / "2026" / "2026-03-08_Australian_Grand_Prix"


@pytest.fixture(scope="session")
def clips_dir() -> Path:
    path = _data_dir() / "telemetry" / "livetiming_clips"
    if not path.is_dir():
        pytest.skip(f"no live-timing clips at {path}")
    return path


@pytest.fixture(scope="session")
def fp2_parsed(fp2_dir: Path) -> tuple[LiveParser, list[Envelope]]:
    return parse_all(fp2_dir)


@pytest.fixture(autouse=True)
def _fastf1_cache_off() -> Iterator[None]:
    """FastF1's parsers are the reference here: their results must not come from the cache
    other tests of the session (replays) enabled, which keys them by the dummy api path."""
    from fastf1 import Cache

    with Cache.disabled():
        yield
