"""``pitwall worker``: the Faust stream worker (features, degradation, strategy)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from core.settings import NotConfiguredError, get_settings

console = Console(stderr=True)
app = typer.Typer()


@app.command()
def worker(
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "WARNING",
    processes: Annotated[
        int,
        typer.Option(
            "--processes",
            "-p",
            min=1,
            help="Worker processes in one consumer group: they share the race topics' "
            "partitions, each session staying on one (PITWALL_PARTITIONS sets how many).",
        ),
    ] = 1,
) -> None:
    """Run the stream worker: race topics in, features/degradation/strategy out.

    Consumer fetch wait comes from PITWALL_FETCH_WAIT_MS (default 10 ms, right for the
    embedded broker, which does not wake waiting fetches); group session timeout from
    PITWALL_SESSION_TIMEOUT_MS. With `--processes N` the processes share the sessions; one
    that dies hands its partitions (and their tables, from the changelogs) to the others.
    Ctrl-C or SIGTERM stops them cleanly.
    """
    from strategy.artifacts import latest_artifact

    settings = get_settings()
    try:
        _ = settings.require_kafka
    except NotConfiguredError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    if latest_artifact(settings.model_dir) is None:  # loading never trains: say what to run
        console.print(
            f"[red]No trained race model in {settings.model_dir}[/]: run `pitwall train` "
            "(or point PITWALL_MODEL_DIR at a model directory)"
        )
        raise typer.Exit(2)
    if processes == 1:
        from streams.worker import run

        run(settings, loglevel=log_level.upper())
        return
    from streams.worker import run_many

    raise typer.Exit(run_many(settings, processes, loglevel=log_level.upper()))
