"""Each moment's model must beat the baseline it contains, on races it never saw.

Walk-forward over 2020-2022 (61 races, each predicted by a model trained only on the races
before it), with the baselines computed in the same run from the same history: the grid slot
after qualifying, the championship order before it. Both must pass every must-show check of
the issue (``BacktestResult.checks``, the same ones ``pitwall predict backtest`` prints) and
beat their baseline by margins neither a constant nor the baseline itself can reach: a
constant forecast (every driver 1/field) scores a win log-loss near 3.0 against the grid
slot's 1.7, and the baseline, or a model that had stopped adjusting it, scores a difference
of 0.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from pitwall.cli import app
from prerace.backtest import BacktestResult, walk_forward
from prerace.feature_table import build_features
from prerace.model import ModelConfig

SEASONS = [2020, 2021, 2022]


@pytest.fixture(scope="module")
def rows(full_history):
    return build_features(full_history, since=2000).rows


@pytest.fixture(scope="module")
def post(rows) -> BacktestResult:
    return walk_forward(rows, SEASONS, ModelConfig(moment="post"))


@pytest.fixture(scope="module")
def pre(rows) -> BacktestResult:
    return walk_forward(rows, SEASONS, ModelConfig(moment="pre"))


def failed(result: BacktestResult) -> list[str]:
    return [c.describe() for c in result.checks() if not c.passed]


def test_model_beats_the_grid_slot_on_held_out_races(post) -> None:
    s = post.summary()
    grid, clim = s["grid_slot"], s["climatology"]
    assert post.races == 61
    assert not failed(post)
    # the baseline is far out of a constant's reach ...
    assert grid["win_log_loss"]["mean"] < clim["win_log_loss"]["mean"] - 1.0
    # ... and the model beats it clearly, on the same resampled races
    ll = post.versus("grid_slot", "win_log_loss")
    assert ll["mean"] < -0.1 and ll["hi"] < 0, ll
    assert post.versus("grid_slot", "win_brier")["mean"] < -0.001


def test_model_beats_the_championship_order_before_qualifying(pre) -> None:
    assert pre.races == 61
    assert not failed(pre)
    ll = pre.versus("championship", "win_log_loss")
    assert ll["mean"] < -0.1 and ll["hi"] < 0, ll
    assert pre.versus("championship", "win_brier")["mean"] < -0.001
    # the leader's chances are themselves far better than a constant's
    s = pre.summary()
    assert s["championship"]["win_log_loss"]["mean"] < s["climatology"]["win_log_loss"]["mean"] - 1


def test_checks_fail_for_a_model_that_is_the_baseline(post) -> None:
    """The checks can fail: the grid slot scored as if it were the model passes none of the
    pooled 'below' checks (a difference of exactly 0)."""
    as_model = {**post.per_race, "model": post.per_race["grid_slot"]}
    same = BacktestResult("post", post.predictions, as_model)
    below = [c for c in same.checks() if c.season is None and c.metric != "top1"]
    assert below and not any(c.passed for c in below)


def test_backtest_command_prints_the_seasons_the_pooled_row_and_the_checks(data_dir) -> None:
    result = CliRunner().invoke(
        app,
        ["predict", "backtest", "--ergast", str(data_dir / "ergast" / "data"),
         "--seasons", "2021-2022", "--moment", "pre", "--json"],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout.strip().splitlines()[-1])
    assert doc["moment"] == "pre" and doc["baseline"] == "championship"
    assert sorted(doc["seasons"]) == ["2021", "2022"]
    assert doc["pooled"]["races"] == 44
    for name in ("model", "championship", "constructors", "climatology", "leader_wins"):
        assert "top1" in doc["pooled"][name]
    checks = doc["checks"]
    assert {(c["metric"], c["baseline"]) for c in checks} == {
        ("win_brier", "championship"), ("win_log_loss", "championship"),
        ("win_brier", "climatology"), ("win_log_loss", "climatology"),
    }  # fmt: skip
    assert all(c["passed"] for c in checks), checks
