"""``pitwall battles train|backtest``: the battle forecast (chance of a pass on track within
1, 3 and 5 laps for every pair of adjacent cars), fitted on history and measured on races it
never saw, beside a gap-only baseline computed in the same run."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from core.settings import get_settings
from pitwall.commands._options import season_list

console = Console(stderr=True)
app = typer.Typer(
    help="Battle forecast: P(pass within 1/3/5 laps) per pair of adjacent cars.",
    no_args_is_help=True,
)


def _years(text: str) -> list[int]:
    try:
        return season_list(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r}: use 2018-2023 or 2021,2022") from None


def _run(seasons: str, test_season: int, rounds: int, threads: int):
    from training.battles.backtest import train_and_backtest
    from training.history import lap_files, read_laps

    years = _years(seasons)
    if test_season in years:
        raise typer.BadParameter(
            f"the test season {test_season} is among the training seasons {years}",
            param_hint="--test-season",
        )
    settings = get_settings()
    try:
        with console.status("reading lap CSVs") as status:
            train = read_laps(lap_files(settings.data_dir, years))
            test = read_laps(lap_files(settings.data_dir, [test_season]))
            return train_and_backtest(
                train, test, rounds, threads, step=lambda m: status.update(m)
            ), years
    except FileNotFoundError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None


def _report(run, years: list[int], test_season: int, as_json: bool, version: str) -> None:
    from training.battles.backtest import backtest_dict

    if as_json:
        out = {
            "model": version,
            "train_seasons": years,
            "test_season": test_season,
            "train_races": run.train_races,
            "test_races": run.test_races,
            "horizons": backtest_dict(run.rows),
        }
        typer.echo(json.dumps(out, indent=2))
        return
    table = Table(
        title=f"Battle forecast back-test on {run.test_races} races of {test_season} "
        f"(trained on {years[0]}-{years[-1]}, {run.train_races} races; model {version})"
    )
    for col in ("passed within", "pairs", "passes", "Brier model", "Brier gap-only",
                "Brier base rate", "AUC model", "AUC gap-only"):  # fmt: skip
        table.add_column(col, justify="right")
    for r in run.rows:
        table.add_row(
            f"{r.horizon} lap{'s' if r.horizon > 1 else ''}",
            f"{r.pairs:,}",
            f"{r.passes:,}",
            f"{r.model_brier:.4f}",
            f"{r.baseline_brier:.4f}",
            f"{r.climatology_brier:.4f}",
            f"{r.model_auc:.3f}",
            f"{r.baseline_auc:.3f}",
        )
    Console().print(table)


@app.command("train")
def train(
    seasons: Annotated[str, typer.Option(help="Training seasons.")] = "2018-2023",
    test_season: Annotated[int, typer.Option(help="Held-out season to back-test on.")] = 2024,
    rounds: Annotated[int, typer.Option(min=10, help="Boosting rounds per horizon.")] = 300,
    threads: Annotated[int, typer.Option(min=1, help="LightGBM threads.")] = 1,
    out: Annotated[
        Path | None, typer.Option(help="Model directory (default: PITWALL_MODEL_DIR).")
    ] = None,
    if_missing: Annotated[
        bool, typer.Option("--if-missing", help="Do nothing if a battle model exists.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the back-test as JSON.")] = False,
) -> None:
    """Fit the battle forecast on the lap CSVs of SEASONS, back-test it on TEST_SEASON and
    write `battles-<version>/` (a booster per horizon, passing rates per circuit and the
    back-test in `metadata.json`) into the model directory."""
    from strategy.battles import latest
    from training.battles.backtest import backtest_dict
    from training.battles.fit import save

    model_dir = out or get_settings().model_dir
    if if_missing and model_dir.exists() and latest(model_dir):
        console.print(f"Battle model present: {latest(model_dir)}")
        return
    started = time.monotonic()
    run, years = _run(seasons, test_season, rounds, threads)
    folder = save(
        run.model,
        model_dir,
        {
            "train_seasons": years,
            "test_season": test_season,
            "rounds": rounds,
            "train_pairs": run.train_pairs,
            "backtest": backtest_dict(run.rows),
        },
    )
    _report(run, years, test_season, as_json, folder.name)
    console.print(f"Wrote {folder} in {time.monotonic() - started:.0f} s")


@app.command("backtest")
def backtest(
    seasons: Annotated[str, typer.Option(help="Training seasons.")] = "2018-2023",
    test_season: Annotated[int, typer.Option(help="Held-out season to back-test on.")] = 2024,
    rounds: Annotated[int, typer.Option(min=10, help="Boosting rounds per horizon.")] = 300,
    threads: Annotated[int, typer.Option(min=1, help="LightGBM threads.")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print the back-test as JSON.")] = False,
) -> None:
    """Fit on SEASONS and print Brier and AUC of "passed within 1/3/5 laps" on TEST_SEASON
    against real on-track position changes, beside the gap-only baseline and the base rate,
    all computed in this run (nothing is written)."""
    run, years = _run(seasons, test_season, rounds, threads)
    _report(run, years, test_season, as_json, "fitted in this run")
