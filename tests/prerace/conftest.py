"""The Ergast tables for the pre-race model's tests, read once."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core.settings import get_settings
from prerace.history import History
from prerace.ingest.csv_source import read_directory


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return get_settings().data_dir


@pytest.fixture(scope="session")
def tables(data_dir: Path) -> dict[str, pd.DataFrame]:
    return read_directory(data_dir / "ergast" / "data")


@pytest.fixture(scope="session")
def full_history(tables: dict[str, pd.DataFrame]) -> History:
    return History.from_tables(tables)
