"""compose.yaml kept honest where Docker cannot run: every command exists in the CLI with the
options it passes, every variable is a setting (or the server image's own), the URLs point at
the services that serve them, and the topics it creates match the registry.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import typer
import yaml
from typer.core import TyperGroup

from core.settings import Settings
from schemas.topics import ALL_TOPICS

REPO = Path(__file__).resolve().parents[1]
COMPOSE: dict[str, Any] = yaml.safe_load((REPO / "compose.yaml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
#: Services run from pitwall's image (the Dockerfile's entry point unless they set their own).
OURS = {name: s for name, s in SERVICES.items() if s.get("image", "").startswith("pitwall:")}
#: What the images of the servers read from their environment.
SERVER_VARIABLES = {
    "apache/kafka": re.compile(r"KAFKA_[A-Z_]+"),  # the image maps KAFKA_X_Y to x.y
    "timescale/timescaledb": re.compile(r"POSTGRES_(USER|PASSWORD|DB)"),
    "redis": re.compile(r"(?!)"),  # none
}


def interpolate(value: object) -> str:
    """A compose value as the container sees it with nothing optional set on the host:
    ``${VAR:-default}`` becomes the default; ``${VAR:?message}`` (required: compose refuses
    to start without it) a value set on the host."""
    text = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(value))
    return re.sub(r"\$\{([A-Z_]+):\?[^}]*\}", r"host-set-\1-0123456789abcdef0123456789", text)


def test_the_secrets_are_required_and_the_api_would_start() -> None:
    """compose.yaml serves on 0.0.0.0: it must not run with the development secrets."""
    env = OURS["gateway"]["environment"]
    for var in ("PITWALL_API_KEY", "PITWALL_JWT_SECRET"):
        assert re.fullmatch(r"\$\{" + var + r":\?.+\}", str(env[var])), var
    settings = Settings(
        api_key=interpolate(env["PITWALL_API_KEY"]),
        jwt_secret=interpolate(env["PITWALL_JWT_SECRET"]),
    )
    settings.check_exposure("0.0.0.0")  # raises while a secret is the default


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: interpolate(v) for k, v in env.items()}


def entry_points() -> dict[str, Any]:
    """The image's console scripts (pyproject) as the commands typer builds from them."""
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    commands = {}
    for name, target in scripts.items():
        module, _ = target.split(":")
        app = __import__(module, fromlist=["app"]).app
        commands[name] = typer.main.get_command(app)
    return commands


def image_entrypoint() -> list[str]:
    line = next(x for x in (REPO / "Dockerfile").read_text().splitlines() if x.startswith("ENTRY"))
    return yaml.safe_load(line.split(None, 1)[1])


def settings_variables() -> dict[str, str]:
    """Every environment variable a Settings field reads: name -> field."""
    names = {}
    for field, info in Settings.model_fields.items():
        aliases = getattr(info.validation_alias, "choices", None)
        for alias in aliases or [field]:
            names[str(alias).upper()] = field
    return names


@pytest.mark.parametrize("name", sorted(OURS))
def test_command_exists_with_its_options(name: str) -> None:
    service = OURS[name]
    entry = service.get("entrypoint") or image_entrypoint()
    scripts = entry_points()
    assert entry[0] in scripts, f"{name}: entry point {entry[0]!r} is not one of {list(scripts)}"
    cmd, args, path = scripts[entry[0]], [*entry[1:], *service.get("command", [])], [entry[0]]
    while isinstance(cmd, TyperGroup):
        assert args, f"{name}: `{' '.join(path)}` needs a subcommand"
        sub = cmd.get_command(typer.Context(cmd), args[0])
        assert sub is not None, f"{name}: `{' '.join(path)}` has no command {args[0]!r}"
        path.append(args.pop(0))
        cmd = sub
    try:  # parses the options and arguments exactly as the CLI would, without running it
        cmd.make_context(" ".join(path), list(args))
    except typer.Exit:  # --help or --version: not what a service runs
        pytest.fail(f"{name}: `{' '.join(path + args)}` only prints and exits")
    except Exception as exc:  # typer's (vendored) click.UsageError: says what is wrong
        pytest.fail(f"{name}: `{' '.join(path + args)}`: {exc}")


def settings_of(service: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings a container of ``service`` reads (none of this process's variables)."""
    for var in settings_variables():
        monkeypatch.delenv(var, raising=False)
    for var, value in environment(service).items():
        monkeypatch.setenv(var, value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.mark.parametrize("name", sorted(OURS))
def test_every_variable_is_a_setting_and_parses(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    env = environment(OURS[name])
    known = settings_variables()
    unknown = sorted(set(env) - set(known))
    assert not unknown, f"{name}: not Settings fields: {unknown}"
    settings = settings_of(OURS[name], monkeypatch)
    for var, value in env.items():
        got = getattr(settings, known[var])
        got = got.get_secret_value() if hasattr(got, "get_secret_value") else got
        if isinstance(got, bool):  # "0"/"1" in compose, False/True in the settings
            assert got == (value.lower() in ("1", "true", "yes")), f"{name}: {var}={value!r}"
            continue
        assert str(got) == value, f"{name}: {var}={value!r}"


@pytest.mark.parametrize("name", sorted(set(SERVICES) - set(OURS)))
def test_servers_get_only_their_own_variables(name: str) -> None:
    image = SERVICES[name]["image"].split(":")[0]
    allowed = SERVER_VARIABLES[image]
    wrong = [v for v in environment(SERVICES[name]) if not allowed.fullmatch(v)]
    assert not wrong, f"{name} ({image}) does not read {wrong}"


def test_urls_point_at_the_services() -> None:
    kafka = environment(SERVICES["kafka"])
    db = environment(SERVICES["timescaledb"])
    for name, service in OURS.items():
        env = environment(service)
        if "KAFKA_BOOTSTRAP" in env:
            assert f"PLAINTEXT://{env['KAFKA_BOOTSTRAP']}" in kafka["KAFKA_ADVERTISED_LISTENERS"]
        if "DATABASE_URL" in env:
            url = urlparse(env["DATABASE_URL"])
            assert url.hostname == "timescaledb", name
            assert (url.username, url.password, url.path.lstrip("/")) == (
                db["POSTGRES_USER"],
                db["POSTGRES_PASSWORD"],
                db["POSTGRES_DB"],
            ), name
        if "REDIS_URL" in env:
            assert urlparse(env["REDIS_URL"]).hostname in SERVICES, name


def test_topics_are_created_as_the_registry_says_before_anything_uses_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kafka = environment(SERVICES["kafka"])
    # Nothing may auto-create a topic (with KAFKA_NUM_PARTITIONS, breaking co-partitioning).
    assert kafka["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    creators = [n for n, s in OURS.items() if s.get("command", [])[:2] == ["topics", "create"]]
    assert creators == ["topics"]

    created = settings_of(SERVICES["topics"], monkeypatch).kafka_partitions
    plan = {t.name: t.partition_count(created) for t in ALL_TOPICS}
    for name, service in OURS.items():
        if name == "topics":
            continue
        expected = settings_of(service, monkeypatch).kafka_partitions
        assert {t.name: t.partition_count(expected) for t in ALL_TOPICS} == plan, (
            f"{name} expects {expected} partitions per race topic; `topics` creates {created}"
        )
        depends = service.get("depends_on", {})
        assert depends.get("topics", {}).get("condition") == "service_completed_successfully", (
            f"{name} may start before the topics exist"
        )


def test_gateway_health_check_asks_a_real_route(monkeypatch: pytest.MonkeyPatch) -> None:
    from api.main import create_app

    gateway = SERVICES["gateway"]
    url = urlparse(re.search(r"http://[^'\"]+", " ".join(gateway["healthcheck"]["test"]))[0])
    command = gateway["command"]
    assert str(url.port) == command[command.index("--port") + 1]
    assert f"{url.port}:{url.port}" in gateway["ports"]
    app = create_app(settings_of(gateway, monkeypatch))
    assert url.path in app.openapi()["paths"]
