"""Session-wide fixtures: the real embedded stack, started once through ``pitwall.embedded``.

Where KAFKA_BOOTSTRAP / DATABASE_URL / REDIS_URL are set, those servers are used instead,
exactly as ``pitwall up`` would. PostgreSQL runs with its fast, non-durable settings
(``PITWALL_PG_DURABLE=0``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from core.settings import Settings, get_settings
from pitwall.embedded import Stack

# The embedded PostgreSQL of the tests (and of every process they start) runs without
# fsync: a test database need not survive a machine crash, and the suite runs faster.
os.environ.setdefault("PITWALL_PG_DURABLE", "0")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Start the embedded broker, PostgreSQL and Redis once; yield settings pointing at them."""
    state_dir = tmp_path_factory.mktemp("pitwall-state")
    base = Settings(state_dir=state_dir)
    embedded = Stack(base, write_env_file=False)
    urls = embedded.start()
    saved = {k: os.environ.get(k) for k in [*urls, "PITWALL_STATE_DIR"]}
    os.environ.update(urls)
    os.environ["PITWALL_STATE_DIR"] = str(state_dir)
    get_settings.cache_clear()
    settings = get_settings()
    from producers.admin import create_topics

    create_topics(settings.require_kafka, settings.kafka_partitions)
    try:
        yield settings
    finally:
        embedded.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_settings.cache_clear()


@pytest.fixture(scope="session")
def pipeline(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The sink (PostgreSQL + Redis writer) and, when present, the stream worker, started as
    users start them; shared by every test of the session that needs the pipeline."""
    from tests.api.conftest import REPO, Service, has_command

    if not has_command("sink"):
        pytest.skip("consumers/ has no `pitwall sink` command yet: nothing lands the replay")
    logs = tmp_path_factory.mktemp("pipeline")
    services = [Service("sink", ["sink"], logs)]
    if has_command("worker") and (REPO / "streams" / "app.py").exists():
        # INFO: the worker's rebalances and table recoveries are in its log if a test fails.
        services.append(Service("worker", ["worker", "--log-level", "INFO"], logs))
    yield {"services": services, "worker": len(services) > 1}
    for s in services:
        s.stop()


@pytest.fixture(scope="session")
def data_dir():
    """The real data (``../shared/data``, or ``PITWALL_DATA_DIR``)."""
    return get_settings().data_dir


@pytest.fixture(scope="session")
def laps_2023(data_dir):
    """Every lap of 2023 (``training.history.read_laps``), read once for the session."""
    from training.history import lap_files, read_laps

    return read_laps(lap_files(data_dir, [2023]))


@pytest.fixture(scope="session")
def trained_dir(tmp_path_factory: pytest.TempPathFactory, data_dir):
    """A small model trained on 2023 (2024 held out), through the real training path, once
    for the session (the race-engine and training tests share it)."""
    from training.train import train_models

    out = tmp_path_factory.mktemp("models")
    train_models(data_dir, out, seasons=(2023,), valid_season=None, rounds=60)
    return out
