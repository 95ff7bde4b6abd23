"""``pitwall battles train|backtest`` through the CLI: the artifact, the back-test as JSON and
a table, and clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from strategy import battles

ENV = {**os.environ, "COLUMNS": "200"}


def _cli(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pitwall.cli", "battles", *args],
        capture_output=True, text=True, timeout=timeout, env=ENV,
    )  # fmt: skip


def test_battles_train_writes_an_artifact_and_prints_the_backtest(tmp_path: Path) -> None:
    run = _cli(
        "train", "--seasons", "2022-2023", "--rounds", "30", "--out", str(tmp_path), "--json"
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["train_seasons"] == [2022, 2023] and report["test_season"] == 2024
    three = next(h for h in report["horizons"] if h["horizon"] == 3)
    assert set(three) >= {"model_brier", "baseline_brier", "model_auc", "baseline_auc"}
    assert three["model_brier"] < three["baseline_brier"]
    folder = battles.latest(tmp_path)
    assert folder is not None
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["backtest"][1]["horizon"] == 3 and "monaco" in meta["passing_rates"]
    again = _cli("train", "--out", str(tmp_path), "--if-missing")
    assert again.returncode == 0 and "present" in again.stderr


def test_battles_backtest_table_and_errors() -> None:
    run = _cli("backtest", "--seasons", "2023", "--rounds", "20")
    assert run.returncode == 0, run.stderr
    assert "Brier gap-only" in run.stdout and "3 laps" in run.stdout
    overlap = _cli("backtest", "--seasons", "2023-2024", "--test-season", "2024")
    assert overlap.returncode == 2 and "among the training seasons" in overlap.stderr
    missing = _cli("backtest", "--seasons", "1990", "--rounds", "20")
    assert missing.returncode == 2 and "no lap CSV for 1990" in missing.stderr
