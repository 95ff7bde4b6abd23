"""``pitwall train`` and ``pitwall backtest``: fit the race model and measure it on unseen races."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from core.settings import get_settings
from pitwall.commands._options import season_list

if TYPE_CHECKING:
    import pandas as pd

console = Console(stderr=True)
app = typer.Typer()


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


@app.command()
def train(
    seasons: Annotated[
        str, typer.Option(help="Training seasons, e.g. 2018-2023 or 2021,2022,2023.")
    ] = "2018-2023",
    valid_season: Annotated[
        int, typer.Option(help="Season for validation metrics (then folded into training).")
    ] = 2023,
    rounds: Annotated[int, typer.Option(min=10, help="Boosting rounds.")] = 300,
    out: Annotated[
        Path | None, typer.Option(help="Model directory (default: PITWALL_MODEL_DIR).")
    ] = None,
    threads: Annotated[
        int,
        typer.Option(min=1, help="LightGBM threads (1 is fastest on a busy 2-core machine)."),
    ] = 1,
    sprint: Annotated[
        bool, typer.Option(help="Add the sprint races of those seasons to the training data.")
    ] = True,
    if_missing: Annotated[
        bool, typer.Option("--if-missing", help="Do nothing if an artifact already exists.")
    ] = False,
    add_races: Annotated[
        list[Path] | None,
        typer.Option(
            "--add-races",
            help="Lap CSV(s) of races that finished since: the newest model learns them "
            "(more boosting rounds, the tyre lives refitted) into a new version.",
        ),
    ] = None,
    race: Annotated[
        list[str] | None,
        typer.Option("--race", help="With --add-races: only these events (repeatable)."),
    ] = None,
) -> None:
    """Train the race model: the lap-time model (LightGBM), the Monte Carlo's spread learned
    from its errors, the fitted hazards (SC/VSC, retirements, pit loss, passing, undercuts),
    compound priors and how long each compound lasts at each circuit (tyre lives).

    Reads the lap CSVs and Ergast tables of the data directory (2024 stays out for
    back-testing) and writes `laptime-<version>/` (the boosters + `metadata.json` with the
    data used, features, fitted tables and validation metrics) into the model directory.
    With `--add-races`, the newest model learns races that finished since instead.
    """
    from strategy.artifacts import latest_artifact

    settings = get_settings()
    model_dir = out or settings.model_dir
    if add_races:
        _add_races(model_dir, settings.data_dir, add_races, race or [], threads)
        return
    if if_missing and model_dir.exists() and latest_artifact(model_dir):
        console.print(f"Model present: {latest_artifact(model_dir)}")
        return
    try:
        years = season_list(seasons)
    except ValueError:
        raise typer.BadParameter(f"seasons {seasons!r}: use 2018-2023 or 2021,2022") from None
    if valid_season not in years or len(years) < 2:
        valid_season = 0  # validate only on a season that is not the whole training set
    started = time.monotonic()
    folder, metrics = _train(
        settings.data_dir, model_dir, years, valid_season, rounds, sprint, threads
    )
    console.print(_metrics_table(folder.name, metrics))
    console.print(f"Wrote {folder} in {time.monotonic() - started:.0f} s")


def _train(
    data_dir: Path,
    model_dir: Path,
    years: list[int],
    valid_season: int,
    rounds: int,
    sprint: bool,
    threads: int,
) -> tuple[Path, dict[str, Any]]:
    """Train with a progress bar over the boosting rounds: (artifact folder, metrics)."""
    from training.train import train_models

    with _progress() as bar:
        passes = 4 if valid_season else 2  # two boosters, and a validation fit
        task = bar.add_task("training", total=rounds * passes)

        def step(msg: str) -> None:
            bar.update(task, description=msg)

        def on_round(_env: object) -> None:
            bar.advance(task)

        try:
            return train_models(
                data_dir,
                model_dir,
                years,
                valid_season or None,
                rounds,
                sprint=sprint,
                threads=threads,
                step=step,
                progress=on_round,
            )
        except FileNotFoundError as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(2) from None


def _metrics_table(name: str, metrics: dict[str, Any]) -> Table:
    table = Table("metric", "value", title=f"model {name}")
    for k, v in metrics.items():
        if isinstance(v, float):
            table.add_row(k, f"{v:,.3f}" if abs(v) >= 1 else f"{v:.4f}")
        else:
            table.add_row(k, str(v))
    return table


@app.command()
def backtest(
    laps: Annotated[
        list[Path],
        typer.Option("--laps", help="Lap CSV(s) in the format of the data directory's laps/."),
    ],
    races: Annotated[
        list[str] | None,
        typer.Option(
            "--race", "--races", help="Only these events (name or part of it); repeatable."
        ),
    ] = None,
    n_sims: Annotated[int, typer.Option(help="Monte Carlo races per lap scored.")] = 500,
    walk_forward: Annotated[
        bool,
        typer.Option(
            "--walk-forward",
            help="Race k learns from races 1..k-1 of the file(s) (never itself or later).",
        ),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Write one JSON object to stdout instead.")
    ] = False,
    model_dir: Annotated[Path | None, typer.Option(help="Model directory.")] = None,
) -> None:
    """Back-test the race model on races in lap CSVs, lap by lap as the worker runs it.

    Prints every figure beside its naive baselines, computed in the same run from the model's
    training seasons before the races (see `pitwall evaluate`, which fits a model per season):
    lap times (persistence, EWMA), stop count and sequence (the circuit's habit, one stop),
    box calls (the tyre-age rule), rejoin (the place held), win chances ("the leader wins"),
    positions ("the order now") and the wet crossover (the first top-10 switch).
    """
    import json

    from pitwall.commands.evaluate_report import print_report
    from strategy.artifacts import load_models
    from training.backtest import run_backtest
    from training.history import lap_files, read_laps

    settings = get_settings()
    table = _read_races(laps, races or [], "--laps")
    models = load_models(model_dir or settings.model_dir)
    trained_on = models.metadata.get("seasons", [])
    first = int(table["season"].min())
    if sorted(set(trained_on) & set(table["season"].unique())):
        console.print("[yellow]Warning: the model was trained on these seasons: not held out.[/]")
    before = [s for s in trained_on if s < first]
    history = read_laps(lap_files(settings.data_dir, before)) if before else None
    with _progress() as bar:
        task = bar.add_task("races", total=table["race_id"].nunique())
        res = run_backtest(
            table, models, settings.data_dir, history, n_sims, walk_forward,
            lambda r: bar.update(task, advance=1, description=r),
        )  # fmt: skip
    if as_json:
        print(json.dumps(res, indent=1))
        return
    label = ",".join(str(s) for s in sorted(table["season"].unique()))
    console.print(f"Back-test on {len(res['races'])} races (model {models.version})")
    print_report([{"season": label, **res}])


def _add_races(
    model_dir: Path, data_dir: Path, files: list[Path], races: list[str], threads: int
) -> None:
    from training.train import add_races

    laps = _read_races(files, races, "--add-races")
    started = time.monotonic()
    with console.status("learning the new races...") as status:
        try:
            folder, added = add_races(
                model_dir, data_dir, laps, threads=threads, step=lambda m: status.update(m)
            )
        except FileNotFoundError as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(2) from None
    console.print(f"Learnt {len(added)} races ({', '.join(added)})")
    console.print(f"Wrote {folder} in {time.monotonic() - started:.0f} s")


def _read_races(files: list[Path], races: list[str], option: str) -> pd.DataFrame:
    """The laps of the lap CSVs ``files`` (given with ``option``), only of the events whose
    name holds one of ``races`` when there are any; exit code 2 when none matches."""
    from training.history import only_races, read_laps

    for path in files:
        if not path.exists():
            raise typer.BadParameter(f"{path} does not exist", param_hint=option)
    try:
        laps = read_laps(files)
    except ValueError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    try:
        return only_races(laps, races)
    except ValueError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
