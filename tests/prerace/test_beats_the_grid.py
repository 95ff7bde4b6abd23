"""The after-qualifying model must beat the grid slot it starts from, on races it never saw.

Walk-forward over 2020-2022 (61 races, each predicted by a model trained only on the races
before it), with the grid-slot baseline computed in the same run from the same history. The
margins are ones neither a constant nor the baseline itself can reach: a constant forecast
(every driver 1/field) scores a win log-loss near 3.0 against the grid slot's 1.7, and the
baseline, or a model that had stopped adjusting it, scores a difference of 0.
"""

from __future__ import annotations

import pytest

from prerace.backtest import walk_forward
from prerace.feature_table import build_features
from prerace.model import ModelConfig

SEASONS = [2020, 2021, 2022]


@pytest.fixture(scope="module")
def result(full_history):
    rows = build_features(full_history, since=2000).rows
    return walk_forward(rows, SEASONS, ModelConfig(moment="post"))


def test_model_beats_the_grid_slot_on_held_out_races(result) -> None:
    s = result.summary()
    model, grid, clim = s["model"], s["grid_slot"], s["climatology"]
    assert result.races == 61
    # the baseline is far out of a constant's reach ...
    assert grid["win_log_loss"]["mean"] < clim["win_log_loss"]["mean"] - 1.0
    # ... and the model beats it clearly, on the same resampled races
    ll = result.versus("grid_slot", "win_log_loss")
    assert ll["mean"] < -0.1 and ll["hi"] < 0, ll
    brier = result.versus("grid_slot", "win_brier")
    assert brier["mean"] < -0.001, brier
    assert model["podium_brier"]["mean"] < grid["podium_brier"]["mean"]
    assert model["top1"]["mean"] >= s["pole_wins"]["top1"]["mean"] - 0.05
    # and it is no worse than the grid in any of the seasons beyond the season's interval
    for season in SEASONS:
        d = result.versus("grid_slot", "win_log_loss", season)
        assert d["lo"] < 0, (season, d)
