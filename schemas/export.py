"""JSON Schema export, one file per topic, for consumers written in other languages."""

from __future__ import annotations

from pathlib import Path

import orjson

from schemas.topics import ALL_TOPICS


def export_json_schemas(directory: Path) -> list[Path]:
    """Write ``<topic>.schema.json`` for every topic into ``directory``; return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for spec in ALL_TOPICS:
        schema = spec.model.model_json_schema(mode="serialization")
        schema["$id"] = f"https://pitwall.dev/schemas/{spec.name}.schema.json"
        schema["x-kafka-topic"] = spec.name
        schema["x-kafka-key"] = spec.key
        schema["x-partitions"] = spec.partition_count()
        path = directory / f"{spec.name}.schema.json"
        path.write_bytes(orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
        written.append(path)
    return written
