"""``pitwall topics create|list`` and ``pitwall schemas export``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from pitwall.settings import NotConfiguredError, get_settings
from schemas.topics import ALL_TOPICS

console = Console()
topics_app = typer.Typer(help="Kafka topics of pitwall.", no_args_is_help=True)
schemas_app = typer.Typer(help="Event schemas of pitwall's topics.", no_args_is_help=True)


def _bootstrap() -> str:
    try:
        return get_settings().require_kafka
    except NotConfiguredError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None


@topics_app.command("create")
def create() -> None:
    """Create every pitwall topic explicitly with its partition count and config."""
    from producers.admin import create_topics

    try:
        results = create_topics(_bootstrap())
    except Exception as exc:
        console.print(f"[red]Could not reach the broker:[/] {exc}")
        raise typer.Exit(1) from None
    table = Table("topic", "partitions", "status")
    for r in results:
        table.add_row(r.name, str(r.partitions), r.status)
    console.print(table)
    if any(r.status.startswith("error") for r in results):
        raise typer.Exit(1)


@topics_app.command("list")
def list_topics() -> None:
    """List pitwall's topics: name, key, partitions, event model."""
    table = Table("topic", "key", "partitions", "model", "what")
    race = get_settings().kafka_partitions
    for t in ALL_TOPICS:
        count = str(t.partition_count(race))
        table.add_row(t.name, t.key, count, t.model.__name__, t.description)
    console.print(table)


@schemas_app.command("export")
def export(
    directory: Annotated[Path, typer.Argument(help="Directory to write <topic>.schema.json into.")],
) -> None:
    """Write one JSON Schema per topic, for consumers written in other languages.

    The same schemas as `GET /api/v1/schemas/{topic}` of `pitwall serve`.
    """
    from schemas.export import export_json_schemas

    paths = export_json_schemas(directory, get_settings().kafka_partitions)
    for p in paths:
        console.print(f"wrote {p}")


def register(app: typer.Typer) -> None:
    app.add_typer(topics_app, name="topics")
    app.add_typer(schemas_app, name="schemas")
