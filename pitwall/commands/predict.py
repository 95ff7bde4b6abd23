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
from pitwall.commands._options import season_list
from pitwall.commands._render import print_refresh, spinner

if TYPE_CHECKING:
    from prerace.history import History

console = Console(stderr=True)
out = Console(width=None if Console().is_terminal else 150)  # wide tables in files too

app = typer.Typer(help="Race-winner and podium chances before the lights.", no_args_is_help=True)

MOMENT_TITLES = {"pre": "before qualifying", "post": "after qualifying"}


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


def _season_span(text: str) -> list[int]:
    try:
        years = season_list(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r}: use 2024, 2014-2024 or 2022,2024") from None
    if not years or min(years) < 2000:
        raise typer.BadParameter(f"{text!r}: the back-test covers seasons from 2000")
    return years


ErgastDir = Annotated[
    Path | None,
    typer.Option(
        help="Directory of Ergast CSVs (default: the history in PostgreSQL).",
        exists=True,
        file_okay=False,
    ),
]


@app.command()
def backtest(
    seasons: Annotated[
        str, typer.Option(help="Seasons to evaluate: 2014-2024, 2022,2024 or 2024.")
    ] = "2014-2024",
    season: Annotated[
        int | None,
        typer.Option(min=2000, max=2100, help="One season, with a row per race."),
    ] = None,
    ergast: ErgastDir = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print one JSON object per moment: per season and pooled, every forecast's "
            "means with 95% intervals (win_brier, win_log_loss, top1, podium_brier, top3) and "
            "the model minus the baseline it contains.",
        ),
    ] = False,
    markdown: Annotated[bool, typer.Option(help="Print the tables as Markdown.")] = False,
    moment: Annotated[
        str, typer.Option(help="pre (before qualifying), post (after) or both.")
    ] = "both",
) -> None:
    """Walk-forward back-test: each race predicted by models trained only on the races before
    it (earlier seasons and the season's earlier rounds), then scored; one row per season and
    the pooled row, 95% bootstrap intervals over races, then the checks the model must pass
    against them (``prerace.backtest.REQUIRED``).

    Beside the model, baselines computed in the same run from the same history: after
    qualifying the grid slot's win/podium rate (the model's starting point), "pole wins" and
    climatology; before qualifying the championship order's rates (its starting point: the
    probabilistic "championship leader wins"), the constructors' order, "the leader wins"
    and climatology (every driver 1/field).
    """
    from pitwall.commands import _backtest_render as render

    if moment not in ("pre", "post", "both"):
        raise typer.BadParameter("use pre, post or both", param_hint="--moment")
    moments = ["post", "pre"] if moment == "both" else [moment]
    years = [season] if season is not None else _season_span(seasons)
    history = _history(ergast)
    results = _walk_forward(history, years, moments)
    if as_json:
        for m in moments:
            print(json.dumps(render.as_json(results[m])))
        return
    for m in moments:
        r = results[m]
        if season is not None and not markdown:
            _print_races(r, _names(history))
        if markdown:
            print(f"\n{len(years)} season(s), {MOMENT_TITLES[m]}\n\n{render.markdown(r)}")
            print(f"\n{render.checks(r, markdown=True)}")
        else:
            for table in render.rich_tables(r):
                out.print(table)
            out.print(render.checks(r), highlight=False)
    out.print(
        f"[dim]model versions: {results[moments[0]].predictions['model_version'].nunique()}"
        " (one per race, retrained)[/]"
    )


def _names(history: History) -> dict:
    from prerace.service import display_names

    return display_names(history)


def _walk_forward(history: History, seasons: list[int], moments: list[str]) -> dict[str, Any]:
    """The walk-forward back-test of ``seasons`` at each moment, with a progress bar;
    exit code 2 when none of them has a race with results."""
    from prerace.backtest import walk_forward
    from prerace.feature_table import build_features
    from prerace.model import ModelConfig

    table = build_features(history, config=ModelConfig().features).rows
    done = table[table["win"].notna()] if len(table) else table
    wanted = done[done["season"].isin(seasons)] if len(done) else done
    if wanted.empty:
        have = sorted(done["season"].unique()) if len(done) else []
        console.print(
            f"[red]no race of {seasons[0]}-{seasons[-1]} with results[/]; seasons with "
            f"results: {have[0]}-{have[-1]}"
            if have
            else "[red]no results[/]"
        )
        raise typer.Exit(2)
    results = {}
    n_races = wanted["race_id"].nunique()
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
                seasons,
                ModelConfig(moment=m),
                progress=lambda msg, t=task, mm=m: bar.update(
                    t, advance=1, description=f"{MOMENT_TITLES[mm]}: {msg}"
                ),
            )
    return results


def _print_races(r, names) -> None:
    """One row per race of a single season: winner, model's pick, scores beside the
    contained baseline's."""
    preds = r.predictions
    base = r.contained
    label = "grid" if r.moment == "post" else "champ."
    per = Table(title=f"{r.seasons[0]} walk-forward, {MOMENT_TITLES[r.moment]} ({r.races} races)")
    for col in (
        "rd", "race", "winner", "model pick", f"{label} pick", "win Brier", label, "log-loss",
        label, "podium Brier", label,
    ):  # fmt: skip
        per.add_column(col, justify="left" if col in ("race", "winner") else "right")
    model = r.per_race["model"].set_index("race_id")
    basel = r.per_race[base].set_index("race_id")
    code = names["drivers"]
    for rid, g in preds.groupby("race_id", sort=False):
        winner = g.loc[g["position"] == 1, "driver_id"]
        pick, bpick = g.loc[g["p_win"].idxmax()], g.loc[g[f"{base}_win"].idxmax()]
        per.add_row(
            str(int(g["round"].iloc[0])),
            names["races"].get(rid, str(rid)).replace(" Grand Prix", ""),
            code.get(int(winner.iloc[0]), "?") if len(winner) else "?",
            f"{code.get(int(pick['driver_id']), '?')} {100 * pick['p_win']:.0f}%",
            f"{code.get(int(bpick['driver_id']), '?')} {100 * bpick[f'{base}_win']:.0f}%",
            f"{model.loc[rid, 'win_brier']:.4f}",
            f"{basel.loc[rid, 'win_brier']:.4f}",
            f"{model.loc[rid, 'win_log_loss']:.3f}",
            f"{basel.loc[rid, 'win_log_loss']:.3f}",
            f"{model.loc[rid, 'podium_brier']:.4f}",
            f"{basel.loc[rid, 'podium_brier']:.4f}",
        )
    out.print(per)


@app.command("next")
def next_race(
    ergast: ErgastDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    top: Annotated[int, typer.Option(min=1, max=30, help="Drivers to show.")] = 20,
) -> None:
    """Win and podium chances for the next race (the first without results): before
    qualifying, and after it when its grid is known, beside the baseline each model starts
    from (the championship order before qualifying, the grid slot after). Trains on every
    finished race."""
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
        base = doc[m]["baseline"].replace("_", " ")
        for col in ("driver", "grid", "win", f"win: {base}", "podium", f"podium: {base}"):
            t.add_column(col, justify="left" if col == "driver" else "right")
        for r in doc[m]["predictions"]:
            t.add_row(
                r["code"] or str(r["driver_id"]),
                "–" if r["grid"] is None else str(r["grid"]),
                f"{r['win_probability']:.1f}%",
                f"{r['baseline_win_probability']:.1f}%",
                f"{r['podium_probability']:.1f}%",
                f"{r['baseline_podium_probability']:.1f}%",
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
