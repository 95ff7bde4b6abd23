"""``pitwall tail TOPIC``: a readable view of any of pitwall's topics, or its raw JSON."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Annotated

import orjson
import typer
from confluent_kafka import KafkaException, Message

from core.settings import NotConfiguredError, get_settings
from pitwall.event_lines import line
from schemas import DecodeError, decode
from schemas.topics import ALL_TOPICS, get_topic


def _undecodable(m: Message, reason: str) -> str:
    raw = (m.value() or b"")[:80].decode("utf-8", "replace")
    where = f"partition {m.partition()} offset {m.offset()}"
    return f"! undecodable message at {where}: {reason}: {raw}"


def _as_text(topic: str, with_session: bool) -> Callable[[Message], tuple[str, bool]]:
    def render(m: Message) -> tuple[str, bool]:
        try:
            return line(decode(topic, m.value() or b""), with_session=with_session), True
        except DecodeError as exc:
            return _undecodable(m, exc.reason), False

    return render


def _as_json(m: Message) -> tuple[str, bool]:
    """The event's JSON on one line, as on the topic; anything else goes to stderr."""
    try:
        return orjson.dumps(orjson.loads(m.value() or b"")).decode(), True
    except orjson.JSONDecodeError as exc:
        return _undecodable(m, f"invalid JSON: {exc}"), False


TOPIC_HELP = "One of: " + ", ".join(t.name for t in ALL_TOPICS) + "."

app = typer.Typer()


@app.command()
def tail(
    topic: Annotated[str, typer.Argument(help=TOPIC_HELP)],
    session: Annotated[
        str | None,
        typer.Option("--session", "-s", help="Only this session, e.g. 2023-monaco-R."),
    ] = None,
    from_beginning: Annotated[
        bool, typer.Option("--from-beginning", help="Every event, not only the last ones.")
    ] = False,
    lines: Annotated[
        int,
        typer.Option("--lines", "-n", min=0, help="How many of the last events to show first."),
    ] = 10,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow", "-f", help="Keep showing new events until Ctrl-C (or SIGTERM, SIGHUP)."
        ),
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Each event's JSON on one line (for jq), nothing else."),
    ] = False,
) -> None:
    """Show a topic's events, one line each, decoded through the topic's schema.

    Shows the last `--lines` events (of `--session`), or all with `--from-beginning`, and
    stops at the end of the topic unless `--follow`. A message that does not decode is
    shown as such (with `--json`, on stderr). For example
    `pitwall tail f1.laps.v1 --session 2023-monaco-R -f` or
    `pitwall tail f1.strategy.v1 --json --from-beginning | jq .lap`.
    """
    from pitwall.processes import stop_on_signals
    from pitwall.topic_reader import BrokerUnreachableError, TopicNotFoundError
    from pitwall.topic_reader import tail as read

    try:
        spec = get_topic(topic)
    except KeyError as exc:
        raise typer.BadParameter(exc.args[0], param_hint="TOPIC") from None
    settings = get_settings()
    render = _as_json if as_json else _as_text(spec.name, with_session=session is None)
    messages = read(
        settings,
        spec.name,
        session_key=session,
        from_beginning=from_beginning,
        last=lines,
        follow=follow,
    )
    shown = 0
    # Ctrl-C stops it even where the shell started it with SIGINT ignored (a background
    # job of a script); SIGTERM and SIGHUP stop it the same way, with 128 + the signal.
    try:
        with stop_on_signals():
            for m in messages:
                text, ok = render(m)
                print(text, file=sys.stdout if ok or not as_json else sys.stderr, flush=follow)
                shown += 1
    except (NotConfiguredError, BrokerUnreachableError, TopicNotFoundError) as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from None
    except KafkaException as exc:
        typer.echo(f"Error: Kafka: {exc}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt as exc:
        name = exc.args[0] if exc.args else "SIGINT"
        code = 128 + signal.Signals[name].value if name in signal.Signals.__members__ else 130
        raise typer.Exit(code) from None
    except BrokenPipeError:  # the reader went away (| head): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(0) from None
    finally:  # the consumer closes now, not in the interpreter's shutdown after Ctrl-C
        messages.close()
    if not shown:
        of = f" of {session}" if session else ""
        typer.echo(f"No events{of} on {spec.name}.", err=True)
