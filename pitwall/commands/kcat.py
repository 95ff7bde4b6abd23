"""``pitwall kcat ...``: the system's kcat, on the librdkafka that pitwall's own clients use.

Debian 12's kcat 1.7.1 is linked against librdkafka 2.0.2, which cannot read the embedded
broker's ApiVersions v3 answer ("Protocol read buffer underflow for ApiVersion v3"). The
answer is valid Kafka protocol: Tansu sends the response's four tagged fields even at their
default values (SupportedFeatures ``[]``, FinalizedFeaturesEpoch ``-1``, FinalizedFeatures
``[]``, ZkMigrationReady ``false``), which Apache Kafka leaves out. librdkafka before 2.1.2
skips one byte less than each tagged field's length (librdkafka #4253, fixed by #4278), so it
reads the next fields out of step and takes the eight 0xff bytes of the epoch, with the next
byte, for a length of 2.2e17 bytes. The broker has no setting for it, and no ``-X`` setting
of librdkafka avoids ApiVersions v3 but the pre-0.10 protocol, whose ListOffsets v0 Tansu
answers without its offsets.

So this command runs kcat with the librdkafka bundled in confluent-kafka's wheel (the same
library every pitwall process uses) and with ``-b`` set to the stack's broker unless given.
Nothing in the protocol is rewritten; against Kafka proper, plain kcat works as it is.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from core.settings import NotConfiguredError, get_settings

console = Console(stderr=True)
app = typer.Typer()

#: librdkafka's soname, the name kcat asks the dynamic loader for.
SONAME = "librdkafka.so.1"


def bundled_librdkafka() -> Path | None:
    """The librdkafka shared library inside the installed confluent-kafka wheel, if any."""
    import confluent_kafka

    libs = Path(confluent_kafka.__file__).resolve().parent.parent / "confluent_kafka.libs"
    found = sorted(libs.glob("librdkafka*.so*"))
    return found[0] if found else None


def library_dir(state_dir: Path) -> Path | None:
    """A directory whose ``librdkafka.so.1`` is the wheel's librdkafka (None: no such wheel).

    The wheel names its copy ``librdkafka-<hash>.so.1``; a symlink under the soname lets the
    dynamic loader find it through ``LD_LIBRARY_PATH``.
    """
    lib = bundled_librdkafka()
    if lib is None:
        return None
    directory = state_dir / "librdkafka"
    directory.mkdir(parents=True, exist_ok=True)
    link = directory / SONAME
    if not (link.is_symlink() and link.resolve() == lib):
        tmp = directory / f".{SONAME}.{os.getpid()}"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(lib)
        os.replace(tmp, link)
    return directory


def kcat_environment(state_dir: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) with the wheel's librdkafka first."""
    env = dict(os.environ if base is None else base)
    directory = library_dir(state_dir)
    if directory is not None:
        env["LD_LIBRARY_PATH"] = os.pathsep.join(
            p for p in (str(directory), env.get("LD_LIBRARY_PATH", "")) if p
        )
    return env


def names_broker(args: list[str]) -> bool:
    """Whether kcat's arguments already say which broker (``-b``, or bootstrap.servers)."""
    return any(a.startswith("-b") or "bootstrap.servers" in a for a in args)


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def kcat(
    args: Annotated[
        list[str] | None,
        typer.Argument(help="kcat's own arguments, e.g. -L, or -C -t f1.laps.v1 -e."),
    ] = None,
) -> None:
    """Run kcat against pitwall's broker: `pitwall kcat -C -t f1.laps.v1 -o beginning -e`.

    Passes every argument to the system's kcat (`kcat -h` lists them), adds `-b` with the
    broker pitwall uses (KAFKA_BOOTSTRAP, or the running `pitwall up`) unless you give one,
    and loads the librdkafka of confluent-kafka's wheel: Debian 12's librdkafka 2.0.2
    misreads the embedded broker's ApiVersions answer (see the README, "Consuming
    pitwall's topics"). Debian: `apt-get install kcat`.
    """
    args = list(args or [])
    binary = shutil.which("kcat") or shutil.which("kafkacat")
    if binary is None:
        console.print("[red]kcat is not installed.[/] On Debian or Ubuntu: `apt-get install kcat`.")
        raise typer.Exit(1)
    settings = get_settings()
    if not names_broker(args):
        try:
            args = ["-b", settings.require_kafka, *args]
        except NotConfiguredError as exc:
            console.print(f"[red]{exc}[/] Or pass kcat a broker with -b.")
            raise typer.Exit(1) from None
    env = kcat_environment(settings.state_dir)
    os.execve(binary, [binary, *args], env)
