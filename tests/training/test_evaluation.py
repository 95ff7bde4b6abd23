"""The back-test and the rolling evaluation: every figure beside its naive baseline, and the
engine beating those baselines on races it never saw, by margins a constant cannot reach.

The race model here is the one ``make test`` trains (2018-2023 by ``pitwall train``); the
races scored are of 2024, held out of it, and the baselines come from 2022-2023 in the same
run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from core.settings import get_settings
from strategy.artifacts import latest_artifact, load_models
from training.backtest import run_backtest
from training.habits import StrategyHabits
from training.history import lap_files, read_laps

RACES = ("bahrain", "saudi-arabian", "japanese", "chinese", "miami", "spanish")


@pytest.fixture(scope="module")
def figures(data_dir: Path) -> dict[str, Any]:
    model_dir = get_settings().model_dir
    if latest_artifact(model_dir) is None:
        pytest.fail(f"no trained model in {model_dir}: `make test` runs `pitwall train` first")
    models = load_models(model_dir)
    assert 2024 not in models.metadata["seasons"]
    laps = read_laps(lap_files(data_dir, [2024]))
    laps = laps[laps["circuit"].isin(RACES)]
    history = read_laps(lap_files(data_dir, [2022, 2023]))
    return run_backtest(laps, models, data_dir, history, n_sims=300)


def test_every_figure_has_its_baseline_from_the_same_run(figures: dict[str, Any]) -> None:
    assert len(figures["races"]) == len(RACES)
    assert set(figures["next_lap_mae"]) >= {"model", "persistence", "ewma"}
    assert set(figures["baselines"]["stops_match"]) == {"habit", "one_stop"}
    assert set(figures["baselines"]["sequence_top3"]) == {"habit"}
    assert set(figures["box_calls"]) >= {"model", "tyre_age_rule", "planned_lap_mae"}
    assert figures["counts"]["box_call_stops"] > 100
    json.dumps(figures)


def test_lap_times_beat_the_previous_lap_and_an_ewma(figures: dict[str, Any]) -> None:
    nxt, five = figures["next_lap_mae"], figures["five_lap_mae"]
    assert nxt["model"] < 0.95 * min(nxt["persistence"], nxt["ewma"])
    assert five["model"] < 0.92 * min(five["persistence"], five["ewma"])


def test_win_chances_beat_the_leader_wins(figures: dict[str, Any]) -> None:
    """Every lap: below "the leader wins" by 10% (a uniform forecast scores about 0.047)."""
    every = figures["win_brier_all_laps"]
    assert every["model"] < 0.9 * every["leader"]
    assert figures["win_ece"] < 0.05


def test_box_calls_and_rejoin_beat_the_naive_rules(figures: dict[str, Any]) -> None:
    box = figures["box_calls"]
    assert box["model"]["f1"] > box["tyre_age_rule"]["f1"]  # the strategy issue's target
    held = figures["baselines"]["rejoin_within_1"]["place_held"]
    assert figures["rejoin_within_1"] > held + 0.2


def test_habits_come_from_the_seasons_before(data_dir: Path) -> None:
    """The circuit's habit of 2024 is read from 2022-2023 only: more races do not change it."""
    before = read_laps(lap_files(data_dir, [2022, 2023]))
    with_later = pd.concat([before, read_laps(lap_files(data_dir, [2024]))], ignore_index=True)
    a, b = StrategyHabits.fit(before, 2024), StrategyHabits.fit(with_later, 2024)
    assert a.stops == b.stops and a.sequences == b.sequences and a.stint_laps == b.stint_laps
    assert a.stop_count("bahrain") >= 2 and a.stint_length("bahrain", "SOFT") is not None


def test_evaluate_command_fits_each_season_on_the_ones_before(tmp_path: Path) -> None:
    """`pitwall evaluate` end to end on one season and two of its races (small and fast)."""
    run = subprocess.run(
        [sys.executable, "-m", "pitwall.cli", "evaluate", "--seasons", "2019", "--race",
         "Bahrain", "--race", "Spanish", "--rounds", "20", "--n-sims", "100",
         "--cache", str(tmp_path), "--json"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    (row,) = json.loads(run.stdout)
    assert row["season"] == 2019 and row["trained_on"] == [2018]
    assert sorted(row["races"]) == ["2019-bahrain", "2019-spanish"]
    assert {"baselines", "box_calls", "battles", "next_lap_mae"} <= set(row)
    bad = subprocess.run(
        [sys.executable, "-m", "pitwall.cli", "evaluate", "--seasons", "2018"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2 and "needs a season before it" in bad.stderr
