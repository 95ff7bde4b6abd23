"""``pitwall topics create|list|graph``: pitwall's Kafka topics, and which process reads and
writes each (the README's topic table)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from core.settings import NotConfiguredError, get_settings
from schemas.topics import ALL_TOPICS

console = Console()
app = typer.Typer(help="Kafka topics of pitwall.", no_args_is_help=True)


def _bootstrap() -> str:
    try:
        return get_settings().require_kafka
    except NotConfiguredError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None


@app.command("create")
def create() -> None:
    """Create every pitwall topic explicitly with its partition count and config."""
    from producers.admin import create_topics

    try:
        results = create_topics(_bootstrap(), get_settings().kafka_partitions)
    except Exception as exc:
        console.print(f"[red]Could not reach the broker:[/] {exc}")
        raise typer.Exit(1) from None
    table = Table("topic", "partitions", "status")
    for r in results:
        table.add_row(r.name, str(r.partitions), r.status)
    console.print(table)
    if any(r.status.startswith("error") for r in results):
        raise typer.Exit(1)


@app.command("list")
def list_topics() -> None:
    """List pitwall's topics: name, key, partitions, event model."""
    table = Table("topic", "key", "partitions", "model", "what")
    race = get_settings().kafka_partitions
    for t in ALL_TOPICS:
        count = str(t.partition_count(race))
        table.add_row(t.name, t.key, count, t.model.__name__, t.description)
    console.print(table)


#: (process, how it starts, what it reads, what it writes): built from each process's own
#: topic lists, so the table cannot drift from the code.
Flow = tuple[str, str, list[str], list[str]]


def topic_flows() -> list[Flow]:
    """Which pitwall process reads and writes which topic."""
    from consumers import pg_sink, redis_state
    from schemas.topics import DLQ, RAW_TOPICS
    from streams.app import INPUT_TOPICS, OUTPUT_TOPICS

    raw = [t.name for t in RAW_TOPICS]
    return [
        ("replay", "`simulate_live`, `POST /admin/replays`", [], raw),
        ("live feed", "`pitwall live`", [], [*raw, DLQ.name]),
        ("stream worker", "`pitwall worker`", [t.name for t in INPUT_TOPICS],
         [t.name for t in OUTPUT_TOPICS]),
        ("PostgreSQL sink", "`pitwall sink`", list(pg_sink.TOPICS), [DLQ.name]),
        ("Redis writer", "`pitwall sink`", list(redis_state.TOPICS), []),
    ]  # fmt: skip


def flows_markdown() -> str:
    """The topic table of the README: one row per topic, who writes and who reads it."""
    flows = topic_flows()
    lines = ["| topic | written by | read by |", "|---|---|---|"]
    for t in ALL_TOPICS:
        writers = ", ".join(p for p, _, _, w in flows if t.name in w) or "-"
        readers = ", ".join(p for p, _, r, _ in flows if t.name in r) or "-"
        lines.append(f"| `{t.name}` | {writers} | {readers} |")
    return "\n".join(lines)


@app.command("graph")
def graph(
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the README's markdown table.")
    ] = False,
) -> None:
    """Which process reads and writes which topic (from the processes' own topic lists)."""
    if markdown:
        print(flows_markdown())
        return
    table = Table("process", "command", "reads", "writes")
    for name, command, reads, writes in topic_flows():
        table.add_row(name, command.replace("`", ""), "\n".join(reads) or "-",
                      "\n".join(writes) or "-")  # fmt: skip
    console.print(table)
