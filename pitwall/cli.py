"""The ``pitwall`` command: the stack, topics, schemas, models, worker, API and live feed.

Each area registers its own commands (``pitwall/commands/*.py``) on this app.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="pitwall",
    help="Real-time F1 race strategy on Kafka: run the stack, replay races, serve pit windows.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="markdown",
)

#: Modules under pitwall.commands that define ``register(app)``; missing ones are skipped.
COMMAND_MODULES = (
    "stack",
    "topics",
    "tail",
    "kcat",
    "model",
    "battles",
    "hazards",
    "worker",
    "serve",
    "live",
    "sink",
    "demo",
    "wet",
    "ingest",
    "predict",
    "users",
)


def _register_all() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"pitwall.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"pitwall.commands.{name}":
                continue
            raise
        module.register(app)


_register_all()


def main() -> None:
    """Configure the structured logs for this process (named after its command), then run."""
    import sys

    from core.logs import configure
    from core.settings import get_settings

    settings = get_settings()
    command = next((a for a in sys.argv[1:] if not a.startswith("-")), "pitwall")
    configure(command, settings.log_format, settings.log_level)
    app()


if __name__ == "__main__":
    main()
