"""The ``pitwall`` command: the stack, topics, schemas, models, worker, API and live feed.

One Typer app: each area's commands are module-level functions of a sub-app
(``pitwall/commands/<area>.py``, its ``app``), merged here into the top level or added as a
group under its name. ``simulate_live`` is the replay command's sub-app run on its own
(``pitwall.commands.replay:main``); here it is ``pitwall replay``.
"""

from __future__ import annotations

import typer

from pitwall.commands import (
    battles,
    demo,
    evaluate,
    hazards,
    ingest,
    kcat,
    live,
    model,
    predict,
    replay,
    schemas,
    serve,
    sink,
    stack,
    tail,
    topics,
    users,
    wet,
    worker,
)

app = typer.Typer(
    name="pitwall",
    help="Real-time F1 race strategy on Kafka: run the stack, replay races, serve pit windows.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="markdown",
)

#: Sub-apps whose commands sit at the top level (``pitwall up``, ``pitwall train``...), in
#: the order ``pitwall --help`` lists them.
COMMANDS = (stack, tail, kcat, model, evaluate, worker, serve, live, sink, demo, replay)
#: Sub-apps that are groups (``pitwall hazards evaluate``...), by name, listed after those.
GROUPS = {
    "topics": topics,
    "schemas": schemas,
    "battles": battles,
    "hazards": hazards,
    "wet": wet,
    "ingest": ingest,
    "predict": predict,
    "users": users,
}

for _module in COMMANDS:
    app.add_typer(_module.app)
for _name, _module in GROUPS.items():
    app.add_typer(_module.app, name=_name)


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
