"""The OpenAPI says what the server does: Schemathesis (its Python API) against a real
``pitwall serve`` on the test stack, every phase (examples, coverage, fuzzing, stateful),
every default check, a fixed seed and about 10 examples per operation
(``tests/api/schemathesis.toml``, which also lists, per operation, the answers the schema
cannot foresee). Zero failures.

The server runs without rate limits (the run's few thousand requests are one client) and
with the shared admin key, so admin operations are exercised too; it has no Kafka broker,
so that replays (``POST /admin/replays``) cannot publish a real race into the suite's topics:
they answer 503 (documented), and the readiness probe reports the broker down.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from core.settings import Settings
from tests.api.conftest import serving

CONFIG = Path(__file__).with_name("schemathesis.toml")


@pytest.fixture(scope="module")
def contract_server(stack: Settings, tmp_path_factory: pytest.TempPathFactory):
    import psycopg

    from consumers.db_schema import migrate

    with psycopg.connect(stack.require_database) as conn:  # as a deployed stack has them
        migrate(conn)
    env = {
        "PITWALL_RATE_LIMIT_IP": "0",
        "PITWALL_RATE_LIMIT_USER": "0",
        "PITWALL_RATE_LIMIT_AUTH": "0",
        "PITWALL_LOG_LEVEL": "WARNING",
        # No broker: POST /admin/replays answers its documented 503 instead of publishing a
        # real race into the suite's Kafka whenever the fuzzer finds a race's name.
        "KAFKA_BOOTSTRAP": "",
    }
    with serving("serve", tmp_path_factory.mktemp("contract"), env) as base:
        yield base


def test_the_api_keeps_its_openapi_contract(stack: Settings, contract_server: str) -> None:
    import schemathesis
    from schemathesis.config import SchemathesisConfig
    from schemathesis.engine import Status, events, from_schema

    os.environ["PITWALL_CONTRACT_API_KEY"] = stack.api_key
    config = SchemathesisConfig.from_path(CONFIG)
    schema = schemathesis.openapi.from_url(f"{contract_server}/openapi.json", config=config)
    outcomes: Counter[str] = Counter()
    failures: list[str] = []
    errors: list[str] = []
    samples: dict[str, str] = {}
    operations: set[str] = set()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished) and event.is_test_scenario:
            recorder = event.recorder
            operations.add(recorder.label)
            for checks in recorder.checks.values():
                for check in checks:
                    outcomes[check.status.value] += 1
                    if check.status == Status.FAILURE and check.failure_info is not None:
                        info = check.failure_info
                        what = f"{recorder.label}: {check.name}: {info.failure.title}"
                        failures.append(f"{what}: {info.failure.message}"[:600])
                        samples.setdefault(what, info.code_sample)
        elif isinstance(event, events.NonFatalError):
            errors.append(f"{event.label}: {event.info.format()}"[:600])
        elif isinstance(event, events.FatalError):
            raise event.exception
    cases = outcomes["success"] + outcomes["failure"]
    print(
        f"\nschemathesis: {len(operations)} operations, {cases} checks passed or failed: "
        f"{outcomes['success']} passed, {len(set(failures))} failed, {len(errors)} errors"
    )
    unique = sorted(set(failures))
    for what, sample in sorted(samples.items()):
        print(f"--- {what}\n{sample[:800]}")
    assert not unique and not errors, "\n".join(unique + errors)
    assert len(operations) >= 40
