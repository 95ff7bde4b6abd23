"""``/api/v1/schemas``: every topic's JSON Schema over HTTP, the same as ``pitwall schemas
export`` writes, with the topic's key and partitioning."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from core.settings import Settings
from schemas.topics import ALL_TOPICS, BY_NAME

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_list_names_every_topic_with_its_key_and_schema_url(
    client: httpx.AsyncClient, stack: Settings
) -> None:
    r = await client.get("/api/v1/schemas")
    assert r.status_code == 200
    listed = r.json()
    assert [t["topic"] for t in listed] == [t.name for t in ALL_TOPICS]
    for item in listed:
        spec = BY_NAME[item["topic"]]
        assert item["key"] == spec.key
        assert item["event_type"] == spec.model.model_fields["type"].default
        assert item["partitions"] == spec.partition_count(stack.kafka_partitions)
        assert "crc32(session_key) % partitions" in item["partitioning"]
        assert item["description"] == spec.description
        assert item["schema_url"] == f"http://api/api/v1/schemas/{spec.name}"
        detail = await client.get(item["schema_url"])
        assert detail.status_code == 200 and detail.json()["topic"] == spec.name
    laps = next(t for t in listed if t["topic"] == "f1.laps.v1")
    assert laps["key"] == "session_key:driver"


async def test_schema_is_what_schemas_export_writes(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "pitwall.cli", "schemas", "export", str(tmp_path)],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    for spec in ALL_TOPICS:
        r = await client.get(f"/api/v1/schemas/{spec.name}")
        assert r.status_code == 200
        body = r.json()
        exported = json.loads((tmp_path / f"{spec.name}.schema.json").read_text())
        assert body["schema"] == exported
        assert body["key"] == exported["x-kafka-key"] == spec.key
        assert body["partitions"] == exported["x-partitions"]
        assert body["partitioning"] == exported["x-partitioning"]

    lap = (await client.get("/api/v1/schemas/f1.laps.v1")).json()["schema"]
    assert lap["title"] == "LapEvent"
    assert {"session_key", "driver", "lap_number", "lap_time"} <= set(lap["properties"])


async def test_unknown_topic_is_404_listing_the_topics(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/schemas/f1.lap.v1")
    assert r.status_code == 404
    detail = r.json()["detail"]
    assert "unknown topic 'f1.lap.v1'" in detail
    assert all(t.name in detail for t in ALL_TOPICS)


async def test_openapi_documents_both_routes(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    assert {"/api/v1/schemas", "/api/v1/schemas/{topic}"} <= set(doc["paths"])
    assert "404" in doc["paths"]["/api/v1/schemas/{topic}"]["get"]["responses"]
    assert "schema" in doc["components"]["schemas"]["TopicSchema"]["properties"]
