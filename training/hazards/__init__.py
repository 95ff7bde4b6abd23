from collections.abc import Callable, Sequence
from dataclasses import replace

import pandas as pd

from strategy.hazards import HazardModels
from training.hazards.neutralisations import fit_neutralisations, race_laps
from training.hazards.passing import passing_rates
from training.hazards.pit_loss import fit_pit_losses, stop_losses
from training.hazards.retirements import car_races, fit_retirements, tables_as_of, team_history
from training.hazards.undercut import attempts, fit_undercuts

TRAIN_SEASONS = (2018, 2019, 2020, 2021, 2022, 2023)


def fit_hazards(
    laps: pd.DataFrame,
    ergast: dict[str, pd.DataFrame],
    seasons: Sequence[int] = TRAIN_SEASONS,
    as_of: tuple[int, int] | None = None,
    grids: dict[str, dict] | None = None,
    step: Callable[[str], None] | None = None,
) -> HazardModels:
    """Fit every model on ``seasons`` of ``laps`` (``training.history.read_laps``; sprint races
    are left out) and of ``ergast`` (``training.history.ergast_tables``).

    ``as_of`` = (season, round): the teams' reliability tables are those known before that
    race (default: the first race after the training seasons; nothing later is read).
    ``grids`` overrides the hyper-parameter grids per model ("sc", "retirement", "pit_loss",
    "undercut"), e.g. one value each to fit fast in tests. ``step`` is told what is being
    fitted (for a progress display).
    """
    grids = grids or {}
    step = step or (lambda _msg: None)
    years = sorted({int(s) for s in seasons})
    if len(years) < 2:
        raise ValueError("fitting needs two or more training seasons (models are chosen by "
                         "leaving one season out)")  # fmt: skip
    train = laps[laps["season"].isin(years) & ~laps["sprint"]]
    missing = sorted(set(years) - set(train["season"].unique()))
    if missing:
        raise ValueError(f"no race laps of seasons {missing} in the lap table")
    step("SC/VSC hazards")
    neutral = fit_neutralisations(race_laps(train), grids.get("sc"))
    step("retirements")
    cars = car_races(ergast)
    history = team_history(cars[cars["season"] >= min(years) - 1])
    retirement = fit_retirements(history, years, as_of, train, grids.get("retirement"))
    step("pit loss")
    pits = fit_pit_losses(stop_losses(train), grids.get("pit_loss"))
    step("undercut and overcut")
    passing = passing_rates(train)
    green = {c: v[0] for c, v in pits.green.items()}
    moves = fit_undercuts(attempts(train), green, passing, grid=grids.get("undercut"))
    return HazardModels(
        sc=neutral["sc"],
        vsc=neutral["vsc"],
        retirement=retirement,
        pit_loss=pits,
        passing=passing,
        undercut=moves.get("undercut"),
        overcut=moves.get("overcut"),
        seasons=years,
    )


def hazards_as_of(
    fitted: HazardModels, ergast: dict[str, pd.DataFrame], season: int, before_round: int
) -> HazardModels:
    """``fitted`` with the teams' reliability tables known before round ``before_round`` of
    ``season`` (the model itself unchanged): what a model learns between races."""
    cars = car_races(ergast)
    history = team_history(cars[cars["season"] >= season - 1])
    retirement = tables_as_of(fitted.retirement, history, season, before_round)
    return replace(fitted, retirement=retirement)
