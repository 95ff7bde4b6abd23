"""JSON Schema export, one per topic, for consumers written in other languages.

``topic_json_schema`` is the one definition: ``pitwall schemas export`` writes it to files and
the API serves it at ``/api/v1/schemas/{topic}``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from schemas.topics import ALL_TOPICS, PARTITIONING, RACE_PARTITIONS, TopicSpec


def topic_json_schema(spec: TopicSpec, race_partitions: int = RACE_PARTITIONS) -> dict[str, Any]:
    """The JSON Schema of ``spec``'s events, with the topic, its key and partitioning.

    ``race_partitions``: the race topics' partition count (``PITWALL_PARTITIONS``).
    """
    schema = spec.model.model_json_schema(mode="serialization")
    schema["$id"] = f"https://pitwall.dev/schemas/{spec.name}.schema.json"
    schema["x-kafka-topic"] = spec.name
    schema["x-kafka-key"] = spec.key
    schema["x-partitions"] = spec.partition_count(race_partitions)
    schema["x-partitioning"] = PARTITIONING
    return schema


def export_json_schemas(directory: Path, race_partitions: int = RACE_PARTITIONS) -> list[Path]:
    """Write ``<topic>.schema.json`` for every topic into ``directory``; return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for spec in ALL_TOPICS:
        path = directory / f"{spec.name}.schema.json"
        schema = topic_json_schema(spec, race_partitions)
        path.write_bytes(orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
        written.append(path)
    return written
