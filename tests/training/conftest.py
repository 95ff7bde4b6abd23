"""Real laps for the race-model tests, read once."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core.settings import get_settings
from training.history import lap_files, read_laps


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return get_settings().data_dir


@pytest.fixture(scope="session")
def laps_2023(data_dir: Path) -> pd.DataFrame:
    return read_laps(lap_files(data_dir, [2023]))


@pytest.fixture(scope="session")
def trained_dir(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """A small model trained on 2023 (2024 held out), through the real training path."""
    from training.train import train_models

    out = tmp_path_factory.mktemp("models")
    train_models(data_dir, out, seasons=(2023,), valid_season=None, rounds=60)
    return out
