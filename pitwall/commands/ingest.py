"""``pitwall ingest ergast``: F1 history into PostgreSQL, then the automatic update."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from core.settings import NotConfiguredError, get_settings

console = Console(stderr=True)

ingest_app = typer.Typer(
    help="Load F1 history (Ergast-format tables) into PostgreSQL.", no_args_is_help=True
)


def _seasons(text: str) -> list[int]:
    try:
        if "-" in text:
            a, b = text.split("-")
            years = list(range(int(a), int(b) + 1))
        else:
            years = [int(y) for y in text.split(",")]
    except ValueError:
        raise typer.BadParameter(f"{text!r}: use 2024, 2023-2024 or 2022,2024") from None
    if not years or min(years) < 1950:
        raise typer.BadParameter(f"{text!r}: seasons start in 1950")
    return years


def spinner() -> Progress:
    return Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
    )


@ingest_app.command("ergast")
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
    import psycopg

    from prerace.ingest.csv_source import ErgastSourceError, read_directory
    from prerace.ingest.store import ensure_schema, load_tables

    settings = get_settings()
    try:
        db_url = settings.require_database
    except NotConfiguredError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    years = _seasons(season) if season else None
    if online and directory is not None:
        raise typer.BadParameter("give a directory or --online, not both", param_hint="--online")
    if online and not years:
        raise typer.BadParameter("--online needs --season (e.g. --season 2025)")
    with spinner() as bar:
        task = bar.add_task("reading", total=None)

        def say(msg: str) -> None:
            bar.update(task, description=msg)

        if online:
            tables = _read_online(settings.jolpica_url, years or [], pit_stops, say)
        else:
            source = directory or settings.data_dir / "ergast" / "data"
            try:
                tables = read_directory(
                    source, range(min(years), max(years) + 1) if years else None
                )
            except ErgastSourceError as exc:
                console.print(f"[red]{exc}[/]")
                raise typer.Exit(2) from None
        say("writing to PostgreSQL")
        with psycopg.connect(db_url, autocommit=True) as conn:
            ensure_schema(conn)
            report = load_tables(conn, tables)
            weather_rows = _ingest_weather(conn, settings.data_dir, say) if weather else 0
            summary = Table("table", "added", "changed", title="ingest")
            for name in report.added:
                summary.add_row(name, f"{report.added[name]:,}", f"{report.changed[name]:,}")
            if weather:
                summary.add_row("race_weather", f"{weather_rows:,}", "")
            changed = report.total_added + report.total_changed
            refreshed = None
            if update and (changed or not _has_next_prediction(conn)):
                refreshed = _refresh(
                    conn, settings, report.races_with_new_results, backfill_season, say
                )
    console.print(summary)
    if report.races_with_new_results:
        console.print(f"races with new or changed results: {len(report.races_with_new_results)}")
    if refreshed is not None:
        _print_refresh(refreshed)
    elif update:
        console.print("nothing changed: ratings and predictions are up to date")


def _read_online(base_url: str, years: list[int], pit_stops: bool, say) -> dict:
    import pandas as pd

    from prerace.ingest.jolpica import JolpicaClient, JolpicaError, fetch_season

    merged: dict[str, list] = {}
    try:
        with JolpicaClient(base_url) as client:
            for year in years:
                for name, frame in fetch_season(client, year, pit_stops, say).items():
                    merged.setdefault(name, []).append(frame)
    except JolpicaError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    return {name: pd.concat(frames, ignore_index=True) for name, frames in merged.items()}


def _ingest_weather(conn, data_dir: Path, say) -> int:
    from prerace.ingest.store import race_ids_by_date, upsert
    from replay.weather import cached_session_weather

    cache = data_dir / "fastf1_cache" / "cache"
    if not cache.is_dir():
        return 0
    say("weather from the FastF1 cache")
    frame = cached_session_weather(cache)
    ids = race_ids_by_date(conn)
    keys = zip(frame["season"], frame["race_date"], strict=True)
    frame["race_id"] = [ids.get(k) for k in keys]
    frame = frame[frame["race_id"].notna()]
    added, changed = upsert(conn, "race_weather", frame)
    return added + changed


def _has_next_prediction(conn) -> bool:
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM predictions p JOIN races r USING (race_id) "
        "WHERE NOT EXISTS (SELECT 1 FROM results x WHERE x.race_id = r.race_id))"
    ).fetchone()
    return bool(row and row[0])


def _refresh(conn, settings, changed, backfill, say):
    from prerace.refresh import refresh

    redis_client = None
    if settings.redis_url:
        import redis

        redis_client = redis.Redis.from_url(settings.redis_url)
    try:
        return refresh(
            conn, redis_client, changed_races=changed, backfill_seasons=backfill, progress=say
        )
    finally:
        if redis_client is not None:
            redis_client.close()


def _print_refresh(r) -> None:
    console.print(
        f"ratings rows written: {r.ratings_written:,}; standings filled by the points rules: "
        f"{r.standings_filled:,}; accuracy recorded for {len(r.accuracy_recorded)} "
        "race-moments"
    )
    if r.next_race_id is not None:
        versions = ", ".join(f"{m}: {v}" for m, v in r.model_versions.items()) or "none"
        console.print(
            f"next race {r.next_race_id}: {r.predictions_written} prediction rows written "
            f"(models {versions}); cached in Redis: {r.cached_races or 'no Redis configured'}"
        )


def register(app: typer.Typer) -> None:
    app.add_typer(ingest_app, name="ingest")
