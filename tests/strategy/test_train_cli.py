"""``pitwall train`` through the CLI: a small model, its versioned artifact and metadata."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from core.settings import get_settings
from strategy.artifacts import latest_artifact, load_models

SETTINGS = get_settings()


def test_train_cli_writes_a_versioned_artifact(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "pitwall.cli", "train", "--seasons", "2022-2023", "--rounds", "10",
         "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    folder = latest_artifact(tmp_path)
    assert folder is not None and folder.name.startswith("laptime-")
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["seasons"] == [2022, 2023] and 2024 not in meta["seasons"]
    assert any("sprint" in name for name in meta["data"])
    assert "target_age" in meta["features"] and meta["metrics"]["valid_next_lap_mae_s"] > 0
    models = load_models(tmp_path)
    assert models.version == meta["version"] and models.laptime is not None
    # the Monte Carlo's spread, learned from the errors on 2023 of a model of 2022 alone
    spread = meta["tables"]["spread"]
    assert spread["anchors"] > 1000 and 0.1 < spread["lap_noise_sd"] < 1.0
    assert 0 < spread["pace_sd"] < 1.0
    assert models.lap_noise_sd == spread["lap_noise_sd"] and models.pace_sd == spread["pace_sd"]
    # tyre lives for 2024 from 2022-2023: a soft set lasts less than a hard one at Bahrain
    assert models.tyre_life is not None and models.tyre_life.season == 2024
    lives = models.tyre_life
    assert lives.prior("bahrain", "SOFT").mean < lives.prior("bahrain", "HARD").mean
    assert [p.name for p in tmp_path.iterdir()] == [folder.name]
    bad = subprocess.run(
        [sys.executable, "-m", "pitwall.cli", "train", "--seasons", "1990", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert bad.returncode == 2 and "no lap CSV for 1990" in bad.stderr
