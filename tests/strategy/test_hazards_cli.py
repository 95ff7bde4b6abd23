"""``pitwall hazards`` through the CLI: the held-out evaluation as JSON, the fitted models as a
file, and clear errors on bad seasons."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from pitwall.cli import app
from strategy.hazards import HazardModels, pit_loss

ENV = {**os.environ, "COLUMNS": "200"}


def _run(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pitwall.cli", "hazards", *args],
        capture_output=True, text=True, timeout=timeout, env=ENV,
    )  # fmt: skip


def test_evaluate_json_sets_every_model_beside_its_baselines() -> None:
    run = _run("evaluate", "--train", "2022-2023", "--test", "2024", "--json")
    assert run.returncode == 0, run.stderr
    res = json.loads(run.stdout)
    assert res["train"] == [2022, 2023] and res["test"] == [2024]
    for key in ("sc", "vsc", "retirement", "undercut", "overcut"):
        assert {"log_loss", "brier", "ece"} <= set(res[key]["model"]), key
        assert res[key]["baselines"], key
        assert res[key]["selection"]["folds"] == [2022, 2023], key
    assert "engine per-circuit constant" in res["sc"]["baselines"]
    assert "engine formula" in res["undercut"]["baselines"]
    assert res["undercut"]["model"]["reliability"]
    assert set(res["pit_loss"]["model"]) == {"all", "green", "sc", "vsc"}


def test_fit_writes_models_the_engine_can_load(tmp_path: Path) -> None:
    out = tmp_path / "hazards.json"
    run = _run("fit", "--train", "2022-2023", "--out", str(out))
    assert run.returncode == 0, run.stderr
    models = HazardModels.from_dict(json.loads(out.read_text()))
    assert models.seasons == [2022, 2023]
    assert pit_loss(models, "monaco")[0] > 10


def test_bad_seasons_are_refused_with_a_reason() -> None:
    runner = CliRunner()
    both = runner.invoke(app, ["hazards", "evaluate", "--train", "2023-2024", "--test", "2024"])
    assert both.exit_code == 2 and "also training seasons" in both.output
    one = runner.invoke(app, ["hazards", "evaluate", "--train", "2023"])
    assert one.exit_code == 2 and "2 or more seasons" in one.output
    bad = runner.invoke(app, ["hazards", "fit", "--train", "20x", "--out", "x.json"])
    assert bad.exit_code == 2 and "use 2018-2023" in bad.output
    missing = runner.invoke(app, ["hazards", "evaluate", "--train", "2016-2017"])
    assert missing.exit_code == 2 and "no lap CSV for 2016" in missing.output
    assert "2018" in missing.output  # the seasons there are
