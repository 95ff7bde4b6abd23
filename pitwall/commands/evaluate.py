"""``pitwall evaluate``: the rolling evaluation, each season held out in turn."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from core.settings import REPO_ROOT, get_settings
from pitwall.commands._options import season_list
from pitwall.commands._render import console, spinner
from pitwall.commands.evaluate_report import print_report

app = typer.Typer()


@app.command()
def evaluate(
    seasons: Annotated[
        str, typer.Option(help="Seasons held out in turn, e.g. 2021-2024 or 2022,2023.")
    ] = "2021-2024",
    walk_forward: Annotated[
        bool,
        typer.Option(
            "--walk-forward", help="Race k of a season also learns from races 1..k-1 of it."
        ),
    ] = False,
    n_sims: Annotated[int, typer.Option(min=50, help="Monte Carlo races per lap.")] = 500,
    rounds: Annotated[int, typer.Option(min=10, help="Boosting rounds of the models.")] = 300,
    threads: Annotated[int, typer.Option(min=1, help="LightGBM threads.")] = 1,
    cache: Annotated[
        Path | None,
        typer.Option(
            help="Where each season's fitted models are kept (default: the state "
            "directory's evaluate/); reused while the code is unchanged."
        ),
    ] = None,
    races: Annotated[
        list[str] | None,
        typer.Option(
            "--race",
            "--races",
            help="Only these events of each season (name or part of it; repeatable): a quick "
            "look, its figures are of those races only.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per season on stdout.")
    ] = False,
) -> None:
    """Rolling evaluation of the race engine: for each season Y, fit every learned part on
    the seasons before Y only (2018 on), replay Y race by race, and print every figure beside
    its naive baselines from the same seasons, one row per season, the mean and the worst.

    It takes tens of minutes (a season's fit is kept and reused while the code does not
    change). Choices are made on 2021-2023; 2024 is read once per change, at the end.
    """
    from training.evaluate import EvaluationOptions
    from training.evaluate import evaluate as run

    try:
        years = season_list(seasons)
    except ValueError:
        raise typer.BadParameter(f"seasons {seasons!r}: use 2021-2024 or 2022,2023") from None
    settings = get_settings()
    options = EvaluationOptions(n_sims, rounds, threads, walk_forward, races=tuple(races or ()))
    cache_dir = cache or settings.state_dir / "evaluate"
    with spinner() as bar:
        task = bar.add_task("rolling evaluation", total=None)
        try:
            rows = run(
                settings.data_dir, years, options, cache_dir, REPO_ROOT,
                lambda msg: bar.update(task, description=msg),
            )  # fmt: skip
        except (ValueError, FileNotFoundError) as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(rows, indent=1))
    else:
        print_report(rows)
