"""``pitwall ingest ergast``: F1 history into PostgreSQL, then the automatic update."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from core.settings import NotConfiguredError, get_settings
from pitwall.commands._options import season_list
from pitwall.commands._render import print_refresh, spinner

if TYPE_CHECKING:
    import pandas as pd

    from prerace.service import IngestResult

Say = Callable[[str], None]

console = Console(stderr=True)

app = typer.Typer(
    help="Load F1 history (Ergast-format tables) into PostgreSQL.", no_args_is_help=True
)


def _seasons(text: str) -> list[int]:
    try:
        years = season_list(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r}: use 2024, 2023-2024 or 2022,2024") from None
    if not years or min(years) < 1950:
        raise typer.BadParameter(f"{text!r}: seasons start in 1950")
    return years


@app.command("ergast")
def ergast(
    directory: Annotated[
        Path | None,
        typer.Argument(
            help="Directory of Ergast-format CSVs (races.csv, results.csv, ...). "
            "Default: the data directory's ergast/data."
        ),
    ] = None,
    online: Annotated[
        bool,
        typer.Option(
            "--online", help="Read from the Jolpica API (PITWALL_JOLPICA_URL) instead of CSVs."
        ),
    ] = False,
    season: Annotated[
        str | None,
        typer.Option(help="Seasons to read online (2025, 2024-2025); with CSVs, keep only these."),
    ] = None,
    pit_stops: Annotated[
        bool, typer.Option(help="Online: also fetch pit stops (one request per race).")
    ] = False,
    weather: Annotated[
        bool,
        typer.Option(help="Also store each weekend's session weather from the FastF1 cache."),
    ] = True,
    update: Annotated[
        bool,
        typer.Option(
            help="Then update ratings, standings, accuracy and the next race's predictions "
            "(runs when the ingest changed anything)."
        ),
    ] = True,
    backfill_season: Annotated[
        list[int] | None,
        typer.Option(
            help="Seasons whose finished races get a walk-forward prediction and accuracy "
            "record when none was stored (default: the latest season with results).",
        ),
    ] = None,
) -> None:
    """Load seasons, circuits, races (calendar, sprint weekends), drivers, constructors,
    results, sprint results, qualifying, pit stops, standings and status into PostgreSQL.

    Idempotent: a second run changes nothing; a newer directory (or a later API read) adds
    what is new. When results of a race arrive, ratings update, the models retrain, the next
    race's predictions are stored with the model version and cached in Redis, and the
    finished race's accuracy is recorded. Uses DATABASE_URL (and REDIS_URL for the cache),
    or the servers of a running `pitwall up`.
    """
    from prerace.service import ingest

    settings = get_settings()
    try:
        db_url = settings.require_database
    except NotConfiguredError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    years = _seasons_to_read(season, directory, online)
    with spinner() as bar:
        task = bar.add_task("reading", total=None)

        def say(msg: str) -> None:
            bar.update(task, description=msg)

        if online:
            tables = _read_online(settings.jolpica_url, years or [], pit_stops, say)
        else:
            tables = _read_directory(directory or settings.data_dir / "ergast" / "data", years)
        say("writing to PostgreSQL")
        done = ingest(
            db_url,
            tables,
            weather=(lambda: _cached_weather(settings.data_dir, say)) if weather else None,
            update=update,
            redis_url=settings.redis_url,
            backfill=backfill_season,
            say=say,
        )
    _print_ingest(done, weather, update)


def _seasons_to_read(season: str | None, directory: Path | None, online: bool) -> list[int] | None:
    """The seasons of --season (None: every season of the CSVs); read online, there must be
    some, and no directory."""
    years = _seasons(season) if season else None
    if online and directory is not None:
        raise typer.BadParameter("give a directory or --online, not both", param_hint="--online")
    if online and not years:
        raise typer.BadParameter("--online needs --season (e.g. --season 2025)")
    return years


def _read_directory(directory: Path, years: list[int] | None) -> dict[str, pd.DataFrame]:
    """The Ergast-format CSVs of ``directory`` (only ``years`` when given); exit code 2 when
    they cannot be read."""
    from prerace.ingest.csv_source import ErgastSourceError, read_directory

    try:
        return read_directory(directory, range(min(years), max(years) + 1) if years else None)
    except ErgastSourceError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None


def _read_online(base_url: str, years: list[int], pit_stops: bool, say: Say) -> dict[str, Any]:
    """The seasons from the Jolpica API; exit code 1 when it cannot be read."""
    from prerace.ingest.jolpica import JolpicaError
    from prerace.service import read_online

    try:
        return read_online(base_url, years, pit_stops, say)
    except JolpicaError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None


def _cached_weather(data_dir: Path, say: Say) -> pd.DataFrame | None:
    """Each weekend's session weather from the FastF1 cache of the data directory, if any."""
    from replay.weather import cached_session_weather

    cache = data_dir / "fastf1_cache" / "cache"
    if not cache.is_dir():
        return None
    say("weather from the FastF1 cache")
    return cached_session_weather(cache)


def _print_ingest(done: IngestResult, weather: bool, update: bool) -> None:
    report = done.report
    summary = Table("table", "added", "changed", title="ingest")
    for name in report.added:
        summary.add_row(name, f"{report.added[name]:,}", f"{report.changed[name]:,}")
    if weather:
        summary.add_row("race_weather", f"{done.weather_rows:,}", "")
    console.print(summary)
    if report.races_with_new_results:
        console.print(f"races with new or changed results: {len(report.races_with_new_results)}")
    if done.refreshed is not None:
        print_refresh(done.refreshed)
    elif update:
        console.print("nothing changed: ratings and predictions are up to date")
