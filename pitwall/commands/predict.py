"""``pitwall predict``: pre-race win/podium chances, their walk-forward back-test, the update."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from core.settings import NotConfiguredError, get_settings
from pitwall.commands._render import print_refresh, spinner

if TYPE_CHECKING:
    from prerace.history import History

console = Console(stderr=True)
out = Console(width=None if Console().is_terminal else 150)  # wide tables in files too

app = typer.Typer(help="Race-winner and podium chances before the lights.", no_args_is_help=True)

MOMENT_TITLES = {"pre": "before qualifying", "post": "after qualifying"}
METRIC_NAMES = {
    "win_brier": "win Brier",
    "win_log_loss": "win log-loss",
    "top1": "winner in top 1",
    "podium_brier": "podium Brier",
    "top3": "podium top-3 hit rate",
}
LOWER_IS_BETTER = {"win_brier", "win_log_loss", "podium_brier"}


def _history(ergast: Path | None) -> History:
    """The history from an Ergast CSV directory, or from PostgreSQL when none is given;
    exit code 2 when there is none."""
    from prerace.history import History
    from prerace.service import NoHistoryError, stored_history

    if ergast is not None:
        from prerace.ingest.csv_source import ErgastSourceError, read_directory

        try:
            return History.from_tables(read_directory(ergast))
        except ErgastSourceError as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(2) from None
    try:
        url = get_settings().require_database
    except NotConfiguredError as exc:
        console.print(f"[red]{exc}[/] (or pass --ergast DIR)")
        raise typer.Exit(2) from None
    try:
        return stored_history(url)
    except NoHistoryError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None


def _fmt(metric: str, s: dict | None) -> str:
    if not s:
        return "–"
    pct = metric in ("top1", "top3")
    f = (lambda v: f"{100 * v:.1f}%") if pct else (lambda v: f"{v:.4f}")
    return f"{f(s['mean'])} [{f(s['lo'])}, {f(s['hi'])}]"


def _json_block(summary: dict, metrics=tuple(METRIC_NAMES)) -> dict:
    return {m: round(summary[m]["mean"], 6) for m in metrics if m in summary}


@app.command()
def backtest(
    season: Annotated[int, typer.Option(min=1995, max=2100, help="Season to evaluate.")],
    ergast: Annotated[
        Path | None,
        typer.Option(
            help="Directory of Ergast CSVs (default: the history in PostgreSQL).",
            exists=True,
            file_okay=False,
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print one JSON object: season, races, model and grid_baseline (win_brier, "
            "win_log_loss, top1, podium_brier, top3) and pole_wins (top1), after qualifying. "
            "With --moment pre: season, races, model and climatology.",
        ),
    ] = False,
    moment: Annotated[
        str,
        typer.Option(help="pre (before qualifying), post (after) or both (tables only)."),
    ] = "both",
) -> None:
    """Walk-forward back-test of a season: each race predicted by models trained only on the
    races before it (earlier seasons and the season's earlier rounds), then scored.

    Per race and in total (95% bootstrap intervals over races): win Brier, win log-loss,
    winner in top 1, podium Brier and podium top-3 hit rate, beside baselines computed in
    the same run from the same history: after qualifying the grid-slot win/podium rate and
    "pole wins"; before qualifying climatology (every driver at the base rate, 1/field).
    """
    from prerace.service import display_names

    if moment not in ("pre", "post", "both"):
        raise typer.BadParameter("use pre, post or both", param_hint="--moment")
    moments = ["post", "pre"] if moment == "both" else [moment]
    if as_json and moment == "both":
        moments = ["post"]
    history = _history(ergast)
    results = _walk_forward(history, season, moments)
    if as_json:
        r = results[moments[0]]
        doc = {"season": season, "races": r.races, "model": _json_block(r.summary["model"])}
        doc[r.baseline_name] = _json_block(r.summary[r.baseline_name])
        if "pole_wins" in r.summary:
            doc["pole_wins"] = _json_block(r.summary["pole_wins"], ("top1",))
        print(json.dumps(doc))
        return
    names = display_names(history)
    for m in moments:
        _print_result(results[m], names)


def _walk_forward(history: History, season: int, moments: list[str]) -> dict[str, Any]:
    """The season's walk-forward back-test at each moment, with a progress bar per moment;
    exit code 2 when the season has no race with results."""
    from prerace.backtest import walk_forward
    from prerace.features import build_features
    from prerace.model import ModelConfig

    table = build_features(history).rows
    season_races = table[(table["season"] == season) & table["win"].notna()]
    if season_races.empty:
        seasons = sorted(table.loc[table["win"].notna(), "season"].unique())
        console.print(
            f"[red]no race of {season} with results[/]; seasons with results: "
            f"{seasons[0]}-{seasons[-1]}"
            if seasons
            else "[red]no results[/]"
        )
        raise typer.Exit(2)
    results = {}
    n_races = season_races["race_id"].nunique()
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        for m in moments:
            task = bar.add_task(f"{MOMENT_TITLES[m]}", total=n_races)
            results[m] = walk_forward(
                table,
                season,
                ModelConfig(moment=m),
                progress=lambda msg, t=task, mm=m: bar.update(
                    t, advance=1, description=f"{MOMENT_TITLES[mm]}: {msg}"
                ),
            )
    return results


def _print_result(r, names) -> None:
    from prerace.metrics import paired_difference

    preds = r.predictions
    title = f"{r.season} walk-forward, {MOMENT_TITLES[r.moment]} ({r.races} races)"
    per = Table(title=title)
    base_label = "grid" if r.moment == "post" else "clim."
    for col in (
        "rd", "race", "winner", "model pick", "win Brier", f"{base_label}", "log-loss",
        f"{base_label}", "podium Brier", f"{base_label}", "top3",
    ):  # fmt: skip
        per.add_column(col, justify="right" if col not in ("race", "winner") else "left")
    model = r.per_race["model"].set_index("race_id")
    base = r.per_race[r.baseline_name].set_index("race_id")
    order = preds.drop_duplicates("race_id")["race_id"]
    for i, rid in enumerate(order, start=1):
        g = preds[preds["race_id"] == rid]
        winner = g.loc[g["position"] == 1, "driver_id"]
        pick = g.loc[g["p_win"].idxmax()]
        per.add_row(
            str(i),
            names["races"].get(rid, str(rid)).replace(" Grand Prix", ""),
            names["drivers"].get(int(winner.iloc[0]), "?") if len(winner) else "?",
            f"{names['drivers'].get(int(pick['driver_id']), '?')} {100 * pick['p_win']:.0f}%",
            f"{model.loc[rid, 'win_brier']:.4f}",
            f"{base.loc[rid, 'win_brier']:.4f}",
            f"{model.loc[rid, 'win_log_loss']:.3f}",
            f"{base.loc[rid, 'win_log_loss']:.3f}",
            f"{model.loc[rid, 'podium_brier']:.4f}",
            f"{base.loc[rid, 'podium_brier']:.4f}",
            f"{model.loc[rid, 'top3']:.2f}",
        )
    out.print(per)
    total = Table(title=f"{r.season} total, {MOMENT_TITLES[r.moment]}: mean [95% CI]")
    total.add_column("metric")
    total.add_column("model", justify="right")
    total.add_column(r.baseline_name.replace("_", " "), justify="right")
    total.add_column("model - baseline", justify="right")
    if r.moment == "post":
        total.add_column("pole wins", justify="right")
    for metric, label in METRIC_NAMES.items():
        row = [label, _fmt(metric, r.summary["model"].get(metric))]
        row.append(_fmt(metric, r.summary[r.baseline_name].get(metric)))
        diff = paired_difference(r.per_race["model"], r.per_race[r.baseline_name], metric)
        row.append(
            _fmt(metric, diff).replace("%", " pts")
            if metric in ("top1", "top3")
            else _fmt(metric, diff)
        )
        if r.moment == "post":
            row.append(_fmt(metric, r.summary["pole_wins"].get(metric)))
        total.add_row(*row)
    out.print(total)
    out.print(f"model versions: {preds['model_version'].nunique()} (one per race, retrained)")


@app.command("next")
def next_race(
    ergast: Annotated[
        Path | None,
        typer.Option(
            help="Directory of Ergast CSVs (default: the history in PostgreSQL).",
            exists=True,
            file_okay=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    top: Annotated[int, typer.Option(min=1, max=30, help="Drivers to show.")] = 20,
) -> None:
    """Win and podium chances for the next race (the first without results): before
    qualifying, and after it when its grid is known. Trains on every finished race."""
    from prerace.service import next_race_chances

    doc = next_race_chances(_history(ergast), top)
    if doc is None:
        console.print("[yellow]no race after the last one with results in the calendar[/]")
        raise typer.Exit(1)
    if as_json:
        print(json.dumps(doc))
        return
    for m in ("pre", "post"):
        if m not in doc:
            out.print(f"[dim]{MOMENT_TITLES[m]}: the grid is not known yet[/]")
            continue
        t = Table(
            title=f"{doc['season']} {doc['race_name']} (round {doc['round']}), "
            f"{MOMENT_TITLES[m]} · {doc[m]['model_version']}"
        )
        for col in ("driver", "grid", "win", "podium"):
            t.add_column(col, justify="left" if col == "driver" else "right")
        for r in doc[m]["predictions"]:
            t.add_row(
                r["code"] or str(r["driver_id"]),
                "–" if r["grid"] is None else str(r["grid"]),
                f"{r['win_probability']:.1f}%",
                f"{r['podium_probability']:.1f}%",
            )
        out.print(t)


@app.command()
def refresh(
    backfill_season: Annotated[
        list[int] | None,
        typer.Option(
            help="Seasons whose finished races get a walk-forward prediction and accuracy "
            "record when none is stored (default: the latest season with results)."
        ),
    ] = None,
) -> None:
    """Run the automatic update by hand: ratings, standings, accuracy of finished races,
    the next race's predictions in PostgreSQL and Redis (what an ingest runs)."""
    from prerace.service import NoHistoryError, run_refresh

    settings = get_settings()
    try:
        url = settings.require_database
    except NotConfiguredError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    with spinner() as bar:
        task = bar.add_task("refresh", total=None)
        try:
            report = run_refresh(
                url,
                settings.redis_url,
                backfill_season,
                lambda m: bar.update(task, description=m),
            )
        except NoHistoryError as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(2) from None
    print_refresh(report)
