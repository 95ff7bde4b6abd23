"""``pitwall schemas export``: one JSON Schema per topic, for consumers in other languages."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from core.settings import get_settings

console = Console()
app = typer.Typer(help="Event schemas of pitwall's topics.", no_args_is_help=True)


@app.command("export")
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
