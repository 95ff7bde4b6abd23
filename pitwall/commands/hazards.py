"""``pitwall hazards evaluate`` and ``pitwall hazards fit``: the fitted SC/VSC, retirement,
pit-loss and undercut/overcut models, measured against their baselines on held-out seasons."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from core.settings import get_settings
from pitwall.commands._options import season_list

console = Console(stderr=True)

app = typer.Typer(
    help="Fitted hazards and rates: SC/VSC per lap, retirements, pit loss, undercut/overcut.",
    no_args_is_help=True,
)


def parse_seasons(text: str, option: str, at_least: int = 1) -> list[int]:
    """'2018-2023' or '2021,2022,2023' -> the seasons (``at_least`` of them)."""
    try:
        years = season_list(text, skip_blank=True)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r}: use 2018-2023 or 2021,2022", param_hint=option
        ) from None
    if len(years) < at_least:
        raise typer.BadParameter(
            f"{text!r}: give {at_least} or more seasons (models are chosen by leaving one "
            "training season out)"
            if at_least > 1
            else f"{text!r}: no season",
            param_hint=option,
        )
    return years


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(), TextColumn("[bold]{task.description}"), TimeElapsedColumn(),
        console=console,
    )  # fmt: skip


def _load(data_dir: Path, seasons: list[int]):
    from training.history import ergast_tables, lap_files, read_laps

    try:
        laps = read_laps(lap_files(data_dir, seasons))
        ergast = ergast_tables(data_dir)
    except FileNotFoundError as exc:
        found = sorted(p.stem[-4:] for p in (data_dir / "laps" / "Data" / "grand_prix").glob(
            "transformed_grand_prix_laps_*.csv"
        ))  # fmt: skip
        have = f"seasons with lap CSVs: {', '.join(found)}" if found else "no lap CSVs there"
        console.print(f"[red]{exc}[/] ({have}; PITWALL_DATA_DIR sets the data directory)")
        raise typer.Exit(2) from None
    return laps, ergast


def _f(v: float | None, digits: int = 4) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def _score_table(title: str, res: dict) -> Table:
    t = Table(title=title)
    cols = ("forecast", "log-loss", "Brier", "ECE", "mean forecast", "observed",
            "log-loss - model's [95% over races]")  # fmt: skip
    for col in cols:
        t.add_column(col, justify="left" if col == "forecast" else "right")
    rows = [("model", res["model"]), *res.get("baselines", {}).items()]
    for name, s in rows:
        vs = s.get("vs_model")
        gain = f"{vs['log_loss']:+.4f} [{vs['lo']:+.4f}, {vs['hi']:+.4f}]" if vs else ""
        t.add_row(
            name, _f(s["log_loss"]), _f(s["brier"]), _f(s["ece"]),
            _f(s["mean_predicted"]), _f(s["observed"]), gain,
        )  # fmt: skip
    return t


def _reliability_table(title: str, res: dict) -> Table:
    t = Table(title=title)
    t.add_column("forecast bin")
    sources = [("model", res["model"]), *res.get("baselines", {}).items()]
    for name, _ in sources:
        t.add_column(f"{name}: n", justify="right")
        t.add_column("predicted", justify="right")
        t.add_column("observed", justify="right")
    edges = sorted({(b["lo"], b["hi"]) for _, s in sources for b in s.get("reliability", [])})
    for lo, hi in edges:
        cells = [f"{lo:.1f}-{hi:.1f}"]
        for _, s in sources:
            b = next((b for b in s.get("reliability", []) if b["lo"] == lo), None)
            if b is None:
                cells += ["", "", ""]
            else:
                cells += [f"{b['n']:.0f}", f"{b['predicted']:.3f}", f"{b['observed']:.3f}"]
        t.add_row(*cells)
    return t


def _choice(name: str, res: dict) -> str:
    sel = res.get("selection", {})
    return (
        f"{name}: features {', '.join(sel.get('features') or ['-'])}; "
        f"{json.dumps(sel.get('params', {}))}; held-out {sel.get('metric', '')} "
        f"{_f(sel.get('score'))} over seasons {sel.get('folds', [])}"
    )


def print_report(res: dict, out: Console) -> None:
    test = ",".join(str(s) for s in res["test"])
    train = f"{min(res['train'])}-{max(res['train'])}"
    out.print(f"[bold]Fitted hazards: trained on {train}, scored on {test}[/]")
    for event, name in (("sc", "SC"), ("vsc", "VSC")):
        r = res[event]
        title = (
            f"{name} starts per leader lap, {test}: {r['starts']} in {r['laps']} laps at risk "
            f"({r['races']} races)"
        )
        out.print(_score_table(title, r))
    r = res["retirement"]
    title = (
        f"Retirements per car and lap, {test}: {r['retirements']:.0f} in "
        f"{r['car_laps']:.0f} car-laps ({r['races']} races)"
    )
    out.print(_score_table(title, r))
    p = res["pit_loss"]
    t = Table(title=f"Pit loss per stop, {test} (s; log-likelihood per stop, Student-t)")
    for col in ("stops", "n", "model MAE", "engine MAE", "model log-lik", "engine log-lik"):
        t.add_column(col, justify="left" if col == "stops" else "right")
    for status, n in p["stops"].items():
        m, b = p["model"][status], p["baseline"][status]
        t.add_row(
            status, str(n), _f(m["mae"], 2), _f(b["mae"], 2), _f(m["log_lik"], 3),
            _f(b["log_lik"], 3),
        )  # fmt: skip
    out.print(t)
    shares = ", ".join(
        f"{s} {_f(p['share_of_green'].get(s), 2)} (engine {p['share_of_green_engine'][s]})"
        for s in ("sc", "vsc")
    )
    out.print(f"Share of the green pit loss a stop costs: {shares}")
    for kind in ("undercut", "overcut"):
        r = res[kind]
        head = (
            f"{kind.capitalize()} success, {test}: {r['successes']} of {r['attempts']} attempts "
            f"(training: {r['training_successes']} of {r['training_attempts']})"
        )
        if "model" not in r:
            out.print(f"{head}: too few attempts to fit a model")
            continue
        out.print(_score_table(head, r))
        out.print(_reliability_table(f"{kind.capitalize()} reliability, {test}", r))
    out.print("[bold]Chosen on the training seasons only[/]")
    for key in ("sc", "vsc", "retirement", "pit_loss", "undercut", "overcut"):
        if key in res and res[key].get("selection"):
            out.print(_choice(key, res[key]))


@app.command()
def evaluate(
    train: Annotated[
        str, typer.Option(help="Training seasons (lap CSVs and Ergast), e.g. 2018-2023.")
    ] = "2018-2023",
    test: Annotated[str, typer.Option(help="Held-out seasons to score on, e.g. 2024.")] = "2024",
    as_json: Annotated[
        bool, typer.Option("--json", help="Write the whole report as one JSON object.")
    ] = False,
) -> None:
    """Fit every hazard on the training seasons and score it beside its baselines.

    SC and VSC starts per lap (log-loss and Brier against the engine's per-circuit
    constant and the all-circuit constant), retirements per car and lap (against the
    engine's constant rate), pit loss per stop (MAE and log-likelihood against the
    engine's point estimates), undercut and overcut success (Brier, log-loss,
    reliability bins and ECE against the engine's fixed formula and the training rate).
    Features and hyper-parameters are chosen on the training seasons only. Takes a few
    minutes.
    """
    from strategy.artifacts import load_models
    from training.hazards.evaluate import evaluate as run

    settings = get_settings()
    train_years = parse_seasons(train, "--train", at_least=2)
    test_years = parse_seasons(test, "--test")
    if set(train_years) & set(test_years):
        both = sorted(set(train_years) & set(test_years))
        raise typer.BadParameter(f"seasons {both} are also training seasons", param_hint="--test")
    started = time.monotonic()
    laps, ergast = _load(settings.data_dir, sorted({*train_years, *test_years}))
    race_models = load_models(settings.model_dir)
    overlap = sorted(set(race_models.metadata.get("seasons", [])) & set(test_years))
    if overlap:
        console.print(
            f"[yellow]The lap-time artifact behind the engine formula was trained on "
            f"{overlap}: that baseline is not held out.[/]"
        )
    with _progress() as bar:
        task = bar.add_task("reading data", total=None)
        try:
            res = run(
                laps, ergast, train_years, test_years, settings.data_dir, race_models,
                step=lambda msg: bar.update(task, description=msg),
            )  # fmt: skip
        except ValueError as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(2) from None
    res["seconds"] = round(time.monotonic() - started, 1)
    if as_json:
        sys.stdout.write(json.dumps(res, default=float) + "\n")
        return
    print_report(res, Console())
    console.print(f"Done in {res['seconds']:.0f} s")


@app.command()
def fit(
    out: Annotated[Path, typer.Option(help="JSON file to write the fitted models to.")],
    train: Annotated[str, typer.Option(help="Training seasons, e.g. 2018-2023.")] = "2018-2023",
) -> None:
    """Fit every hazard on the training seasons and write them as one JSON file
    (``strategy.hazards.HazardModels.from_dict`` reads it back). The teams' reliability
    tables are those after the last race in the Ergast tables of the data directory."""
    from training.hazards import fit_hazards

    settings = get_settings()
    years = parse_seasons(train, "--train", at_least=2)
    laps, ergast = _load(settings.data_dir, years)
    with _progress() as bar:
        task = bar.add_task("reading data", total=None)
        try:
            models = fit_hazards(
                laps, ergast, years, step=lambda msg: bar.update(task, description=msg)
            )
        except ValueError as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(2) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(models.to_dict(), indent=1, default=float))
    console.print(f"Wrote {out}")
