"""One settings object for every pitwall process, read from the environment.

Only entry points (the CLI commands, ``simulate_live``, the API app factory) read it; they
pass it, or the values it holds, to everything below them.

Where a server URL is unset, ``pitwall up`` (and the test suite) start an embedded server
and record its URL in the state directory's ``stack.env`` with the owner's pid; every other
process reads that file too while its owner lives, so ``simulate_live`` in a second terminal
finds the stack ``pitwall up`` started.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]

#: The development defaults of the two secrets: accepted on loopback only.
DEFAULT_API_KEY = "pitwall-dev-key"
DEFAULT_JWT_SECRET = "pitwall-dev-jwt-secret-change-me-000000"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _default_data_dir() -> Path:
    """../shared/data beside the checkout (the development and CI default)."""
    for base in (Path.cwd(), REPO_ROOT):
        candidate = (base / ".." / "shared" / "data").resolve()
        if candidate.is_dir():
            return candidate
    return (REPO_ROOT / ".." / "shared" / "data").resolve()


def _state_dir() -> Path:
    return Path(os.environ.get("PITWALL_STATE_DIR", REPO_ROOT / ".pitwall")).resolve()


class Settings(BaseSettings):
    """Configuration of the stack and its services (environment variables in brackets)."""

    model_config = SettingsConfigDict(
        env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    kafka_bootstrap: str | None = Field(
        default=None, description="Kafka bootstrap servers [KAFKA_BOOTSTRAP]; unset: embedded."
    )
    database_url: str | None = Field(
        default=None, description="PostgreSQL URL [DATABASE_URL]; unset: embedded."
    )
    redis_url: str | None = Field(
        default=None, description="Redis URL [REDIS_URL]; unset: embedded."
    )
    data_dir: Path = Field(
        default_factory=_default_data_dir,
        validation_alias=AliasChoices("PITWALL_DATA_DIR", "DATA_DIR"),
        description="Directory of the real data (FastF1 cache, lap CSVs, Ergast).",
    )
    model_dir: Path = Field(
        default=REPO_ROOT / "models",
        validation_alias=AliasChoices("PITWALL_MODEL_DIR", "MODEL_DIR"),
        description="Directory of trained model artifacts.",
    )
    state_dir: Path = Field(
        default_factory=_state_dir,
        validation_alias=AliasChoices("PITWALL_STATE_DIR"),
        description="Where the embedded servers keep data, logs and stack.env.",
    )
    fastf1_cache_dir: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("PITWALL_FASTF1_CACHE", "FASTF1_CACHE"),
        description="Writable FastF1 cache; unset: a copy of data_dir's cache in state_dir.",
    )
    fastf1_online: bool = Field(
        default=False,
        validation_alias=AliasChoices("PITWALL_FASTF1_ONLINE"),
        description="Let FastF1 download sessions missing from the cache (needs internet).",
    )
    kafka_fetch_wait_ms: int = Field(
        default=10,
        validation_alias=AliasChoices("PITWALL_FETCH_WAIT_MS", "KAFKA_FETCH_WAIT_MS"),
        description="Consumer fetch wait. The embedded broker does not wake waiting fetches, "
        "so latency is about half of it: keep it low (5-20 ms) there; 100-500 ms on real Kafka.",
    )
    history_fetch_wait_ms: int = Field(
        default=500,
        gt=0,
        validation_alias=AliasChoices("PITWALL_HISTORY_FETCH_WAIT_MS"),
        description="Fetch wait of the PostgreSQL sink, which no live path waits on. On the "
        "embedded broker every empty fetch costs it CPU per partition, and a fetch must last "
        "long enough for the broker to find its place in a big partition (docs/broker.md).",
    )
    history_fetch_interval_ms: int = Field(
        default=1000,
        ge=0,
        validation_alias=AliasChoices("PITWALL_HISTORY_FETCH_INTERVAL_MS"),
        description="Once it has read all there is, the PostgreSQL sink fetches again after "
        "this long: one fetch a second lands a second of the race, and the embedded broker "
        "pays for every fetch that finds new data by the size of the partition.",
    )
    bulk_fetch_wait_ms: int = Field(
        default=500,
        gt=0,
        validation_alias=AliasChoices("PITWALL_BULK_FETCH_WAIT_MS"),
        description="Fetch wait of the consumers of bulk topics (car telemetry) beside a live "
        "consumer (the Redis writer's): long enough for the embedded broker to find its place "
        "in a race's worth of telemetry, which a 10 ms fetch is not.",
    )
    idle_after_s: float = Field(
        default=5.0,
        gt=0,
        validation_alias=AliasChoices("PITWALL_IDLE_AFTER_S"),
        description="A consumer that has read nothing for this long, with no race on, fetches "
        "at its idle pace (PITWALL_IDLE_FETCH_WAIT_MS).",
    )
    idle_after_live_s: float = Field(
        default=60.0,
        gt=0,
        validation_alias=AliasChoices("PITWALL_IDLE_AFTER_LIVE_S"),
        description="The same while a session is live (seen, its flag not yet): a live race "
        "leaves the worker's topics quiet for up to a minute between laps (longer only under "
        "a red flag), and the next lap must not wait.",
    )
    idle_fetch_wait_ms: int = Field(
        default=500,
        gt=0,
        validation_alias=AliasChoices("PITWALL_IDLE_FETCH_WAIT_MS"),
        description="An idle consumer's pace: the worker's fetch wait, and how often the sinks "
        "look for new data. The first event after the idle spell waits up to half of it "
        "(worker) or all of it (sinks).",
    )
    kafka_partitions: int = Field(
        default=1,
        ge=1,
        validation_alias=AliasChoices("PITWALL_PARTITIONS"),
        description="Partitions of each race topic when pitwall creates the topics. A session's "
        "events all go to one partition, so a live race gains nothing from more, while every "
        "partition costs the broker work on each fetch. More let several worker or sink "
        "processes share many sessions.",
    )
    kafka_session_timeout_ms: int = Field(
        default=3000,
        validation_alias=AliasChoices("PITWALL_SESSION_TIMEOUT_MS"),
        description="Consumer group session timeout. The embedded broker makes a new member wait "
        "about half of it to join, and a killed member's partitions wait all of it.",
    )
    jolpica_url: str = Field(
        default="https://api.jolpi.ca/ergast/f1",
        validation_alias=AliasChoices("PITWALL_JOLPICA_URL"),
        description="Base URL of the Ergast-compatible API read by `pitwall ingest ergast "
        "--online` (Jolpica; needs internet).",
    )
    api_key: str = Field(
        default=DEFAULT_API_KEY,
        validation_alias=AliasChoices("PITWALL_API_KEY"),
        description="Shared admin key (X-API-Key) for endpoints that change things.",
    )
    api_host: str = Field(
        default="127.0.0.1",
        validation_alias=AliasChoices("PITWALL_API_HOST"),
        description="Address `pitwall serve` listens on.",
    )
    api_port: int = Field(
        default=8000,
        validation_alias=AliasChoices("PITWALL_API_PORT"),
        description="Port `pitwall serve` listens on.",
    )
    f1_username: str | None = Field(
        default=None,
        validation_alias=AliasChoices("F1_USERNAME"),
        description="F1 account (with F1 TV) for live timing; FastF1 reads it to sign in.",
    )
    f1_password: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("F1_PASSWORD"),
        description="Password of that F1 account (FastF1 reads it to sign in).",
    )
    rate_limit_ip: int = Field(
        default=1000,
        ge=0,
        validation_alias=AliasChoices("PITWALL_RATE_LIMIT_IP", "PITWALL_RATE_LIMIT"),
        description="REST requests per client address per minute; 0 disables the limit "
        "(PITWALL_RATE_LIMIT, its old name, is still read).",
    )
    rate_limit_user: int = Field(
        default=100,
        ge=0,
        validation_alias=AliasChoices("PITWALL_RATE_LIMIT_USER"),
        description="REST requests per signed-in user or API key per minute; 0 disables it.",
    )
    rate_limit_auth: int = Field(
        default=30,
        ge=0,
        validation_alias=AliasChoices("PITWALL_RATE_LIMIT_AUTH"),
        description="POSTs to /api/v1/auth/ (sign-in, registration, refresh...) per client "
        "address per minute; 0 disables the limit.",
    )
    trusted_proxies: str = Field(
        default="",
        validation_alias=AliasChoices("PITWALL_TRUSTED_PROXIES"),
        description="Comma-separated addresses or networks of reverse proxies whose "
        "X-Forwarded-For / X-Forwarded-Proto are believed; other clients are their connection's "
        "address.",
    )
    cors_origins: str = Field(
        default="",
        validation_alias=AliasChoices("PITWALL_CORS_ORIGINS"),
        description="Comma-separated origins (https://app.example.com) allowed to call the API "
        "from a browser; empty: no cross-origin access.",
    )
    jwt_secret: SecretStr = Field(
        default=SecretStr(DEFAULT_JWT_SECRET),
        validation_alias=AliasChoices("PITWALL_JWT_SECRET"),
        description="Secret that signs access and refresh tokens (HS256); at least 32 "
        "random bytes off loopback.",
    )
    access_token_minutes: int = Field(
        default=60,
        ge=1,
        le=24 * 60,
        validation_alias=AliasChoices("PITWALL_ACCESS_TOKEN_MINUTES"),
        description="Lifetime of an access token.",
    )
    refresh_token_days: int = Field(
        default=14,
        ge=1,
        le=365,
        validation_alias=AliasChoices("PITWALL_REFRESH_TOKEN_DAYS"),
        description="Lifetime of a refresh token (each is usable once).",
    )
    auth_reads: bool = Field(
        default=False,
        validation_alias=AliasChoices("PITWALL_AUTH_READS"),
        description="Read endpoints and the WebSocket need a signed-in user or API key "
        "(default: reads are public).",
    )
    open_registration: bool = Field(
        default=True,
        validation_alias=AliasChoices("PITWALL_OPEN_REGISTRATION"),
        description="Anyone may register a user account; 0: only an admin creates users.",
    )
    pg_durable: bool = Field(
        default=True,
        validation_alias=AliasChoices("PITWALL_PG_DURABLE"),
        description="The embedded PostgreSQL runs with fsync, synchronous_commit and "
        "full_page_writes on; 0 turns them off (tests, benchmarks: a crash may lose "
        "committed rows).",
    )
    log_format: str = Field(
        default="auto",
        pattern="^(auto|json|console)$",
        validation_alias=AliasChoices("PITWALL_LOG_FORMAT"),
        description="auto: readable lines on a terminal, JSON lines otherwise; or json, console.",
    )
    log_level: str = Field(
        default="INFO",
        validation_alias=AliasChoices("PITWALL_LOG_LEVEL"),
        description="Level of pitwall's own log lines (DEBUG, INFO, WARNING, ...).",
    )
    ws_max_buffer: int = Field(
        default=1 << 20,
        gt=0,
        validation_alias=AliasChoices("PITWALL_WS_MAX_BUFFER"),
        description="Bytes a WebSocket client may leave unsent before the gateway closes it "
        "(1013, try again later).",
    )

    @property
    def stack_env_file(self) -> Path:
        return self.state_dir / "stack.env"

    @property
    def trusted_proxy_list(self) -> list[str]:
        return _split(self.trusted_proxies)

    @property
    def cors_origin_list(self) -> list[str]:
        return _split(self.cors_origins)

    def default_secrets(self) -> list[str]:
        """Names of the secrets still at their development default."""
        out = []
        if self.api_key == DEFAULT_API_KEY:
            out.append("PITWALL_API_KEY")
        if self.jwt_secret.get_secret_value() == DEFAULT_JWT_SECRET:
            out.append("PITWALL_JWT_SECRET")
        return out

    def check_exposure(self, host: str) -> None:
        """Refuse to serve on a non-loopback ``host`` while a secret is its public default."""
        if host in LOOPBACK_HOSTS or host.startswith("127."):
            return
        left = self.default_secrets()
        if left:
            raise InsecureSettingsError(
                f"refusing to listen on {host}: {' and '.join(left)} "
                f"{'is' if len(left) == 1 else 'are'} still the public development default. "
                "Set them to long random values (e.g. `openssl rand -hex 32`), or listen on "
                "127.0.0.1."
            )

    @property
    def f1_credentials(self) -> bool:
        """Whether an F1 account and password are configured for live timing."""
        return bool(self.f1_username and self.f1_password)

    @property
    def require_kafka(self) -> str:
        """The bootstrap servers, or a clear error saying how to get a broker."""
        return _require(self.kafka_bootstrap, "KAFKA_BOOTSTRAP")

    @property
    def require_database(self) -> str:
        return _require(self.database_url, "DATABASE_URL")

    @property
    def require_redis(self) -> str:
        return _require(self.redis_url, "REDIS_URL")


class InsecureSettingsError(RuntimeError):
    """The settings would expose the development secrets beyond this machine."""


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


class NotConfiguredError(RuntimeError):
    """A server URL is neither set nor provided by a running ``pitwall up``."""


def _require(value: str | None, name: str) -> str:
    if not value:
        raise NotConfiguredError(
            f"{name} is not set and no embedded stack is running. Start one with "
            f"`pitwall up` in another terminal, or set {name}."
        )
    return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, for entry points only (cached; ``get_settings.cache_clear()``
    re-reads them).

    Environment variables win; a live ``pitwall up``'s ``stack.env`` fills the URLs left unset.
    """
    env_file = _state_dir() / "stack.env"
    if env_file.exists() and stack_env_is_live(env_file):
        return Settings(_env_file=env_file)  # type: ignore[call-arg]
    return Settings()


#: The variable of ``stack.env`` naming the process that owns the stack.
STACK_PID_VAR = "PITWALL_STACK_PID"


def write_stack_env(env_file: Path, urls: Mapping[str, str], owner: int | None = None) -> None:
    """Record the URLs of a running stack and its owner (this process by default)."""
    lines = [f"{k}={v}" for k, v in urls.items()]
    lines.append(f"{STACK_PID_VAR}={os.getpid() if owner is None else owner}")
    env_file.write_text("\n".join(lines) + "\n")


def stack_env_owner(env_file: Path) -> int | None:
    """The pid that wrote ``env_file`` (None if unreadable)."""
    try:
        for line in env_file.read_text().splitlines():
            if line.startswith(f"{STACK_PID_VAR}="):
                return int(line.split("=", 1)[1])
    except (OSError, ValueError):
        return None
    return None


def stack_env_is_live(env_file: Path) -> bool:
    """True if ``env_file`` was written by a stack owner that is still running."""
    pid = stack_env_owner(env_file)
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
