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
    # the win-chance blend: 2023 replayed by a model of 2022 alone (left in no model directory)
    blend = meta["tables"]["win_blend"]
    assert blend["season"] == 2023 and blend["trained_on"] == [2022]
    assert blend["races"] == 22 and blend["laps"] > 1000
    assert 0 <= blend["weight"] <= 1 and models.win_blend == blend["weight"]
    # the replayed season's win chances beat "the leader wins" on it (not by construction)
    assert blend["brier_blended"] < 0.95 * blend["brier_leader"]
    assert [p.name for p in tmp_path.iterdir()] == [folder.name]
    bad = subprocess.run(
        [sys.executable, "-m", "pitwall.cli", "train", "--seasons", "1990", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert bad.returncode == 2 and "no lap CSV for 1990" in bad.stderr
