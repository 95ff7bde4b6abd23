"""The rolling evaluation: each season held out in turn, every learned part fitted only on the
seasons before it, every figure beside its naive baselines from those same seasons.

For each season Y: the lap-time model, the fitted hazards (SC/VSC, retirements, pit loss,
undercut), the tyre lives, the Monte Carlo's spread and the battle forecast are fitted on the
lap CSVs and Ergast tables of ``FIRST_SEASON`` .. Y-1, every table as known before Y's first race
(``fit_season``); Y is then replayed race by race (``training.backtest``), plainly or walking
forward (race k learns from races 1..k-1 of Y). 2022, the first season of new cars and tyres,
counts as much as any other.

The fitted models of a season are kept under ``cache_dir`` by a fingerprint of the training
and engine code and of the options: a second run with the same code reuses them.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from strategy.artifacts import RaceModels, latest_artifact, load_models
from training.backtest import run_backtest
from training.battles.backtest import backtest_dict, train_and_backtest
from training.hazards import hazards_as_of
from training.history import ergast_tables, lap_files, only_races, read_laps
from training.train import train_models

FIRST_SEASON = 2018
CODE_DIRS = ("strategy", "training")

Step = Callable[[str], None]


@dataclass(frozen=True)
class EvaluationOptions:
    """How each season is fitted and replayed."""

    n_sims: int = 500
    rounds: int = 300
    threads: int = 1
    walk_forward: bool = False
    battles: bool = True
    #: only the events whose name holds one of these (a quick look at a few races)
    races: tuple[str, ...] = ()


def fingerprint(options: EvaluationOptions, repo: Path) -> str:
    """A hash of the training and engine code and the fitting options: fitted seasons are
    reused only while none of them changed."""
    h = hashlib.sha256(repr(options.rounds).encode())
    for folder in CODE_DIRS:
        for path in sorted((repo / folder).rglob("*.py")):
            h.update(path.read_bytes())
    return h.hexdigest()[:12]


def fit_season(
    data_dir: Path, season: int, folder: Path, options: EvaluationOptions, step: Step
) -> RaceModels:
    """The race models of seasons ``FIRST_SEASON`` .. ``season - 1``, as known before
    ``season``'s first race (fitted into ``folder``, or read back from it)."""
    if latest_artifact(folder) is None:
        seasons = list(range(FIRST_SEASON, season))
        train_models(
            data_dir, folder, seasons, valid_season=season - 1 if len(seasons) > 1 else None,
            rounds=options.rounds,
            threads=options.threads, step=step,
            as_of=(season, 1),
        )  # fmt: skip
    return load_models(folder)


def _round_of(laps: pd.DataFrame) -> dict[str, int]:
    return {str(k): int(v) for k, v in laps.groupby("race_id")["round"].first().items()}


def evaluate_season(
    data_dir: Path, season: int, models: RaceModels, options: EvaluationOptions, step: Step
) -> dict[str, Any]:
    """Season ``season`` replayed by ``models`` (fitted on the seasons before), its figures
    and baselines, and the battle forecast fitted and scored the same way."""
    laps = only_races(read_laps(lap_files(data_dir, [season])), options.races)
    history = read_laps(lap_files(data_dir, range(FIRST_SEASON, season)))
    rounds = _round_of(laps)
    ergast = ergast_tables(data_dir) if options.walk_forward else {}

    def as_of(fitted: Any, race_id: str) -> Any:
        return hazards_as_of(fitted, ergast, season, rounds[race_id])

    started = time.monotonic()
    figures = run_backtest(
        laps, models, data_dir, history, options.n_sims, options.walk_forward,
        lambda race: step(f"{season}: {race}"), as_of,
    )  # fmt: skip
    out = {"season": season, "trained_on": sorted(models.metadata.get("seasons", []))}
    out.update(figures)
    if options.battles:
        step(f"{season}: battle forecast")
        run = train_and_backtest(history[~history["sprint"]], laps, rounds=options.rounds)
        out["battles"] = backtest_dict(run.rows)
    out["seconds"] = round(time.monotonic() - started, 1)
    return out


def evaluate(
    data_dir: Path,
    seasons: Sequence[int],
    options: EvaluationOptions,
    cache_dir: Path,
    repo: Path,
    step: Step | None = None,
) -> list[dict[str, Any]]:
    """The rolling evaluation of ``seasons`` (see the module docstring): one dict per season
    under the back-test's keys, with ``baselines`` beside each figure."""
    step = step or (lambda _msg: None)
    key = fingerprint(options, repo)
    out = []
    for season in seasons:
        if season <= FIRST_SEASON:
            raise ValueError(f"{season}: the rolling evaluation needs a season before it")
        folder = cache_dir / f"{season}-{key}"
        models = fit_season(
            data_dir, season, folder, options, lambda m, s=season: step(f"{s}: {m}")
        )
        out.append(evaluate_season(data_dir, season, models, options, step))
    return out
