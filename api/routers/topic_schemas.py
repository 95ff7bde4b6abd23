"""The JSON Schema of every Kafka topic, for subscribers who read the topics themselves.

The schemas are exactly what ``pitwall schemas export`` writes (``schemas.export``), with the
partition counts of this server's settings.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from api.deps import Res
from schemas.export import topic_json_schema
from schemas.topics import ALL_TOPICS, LAPS, PARTITIONING, TopicSpec, get_topic

router = APIRouter(prefix="/api/v1/schemas", tags=["schemas"])


class TopicInfo(BaseModel):
    topic: str = Field(examples=[LAPS.name])
    event_type: str = Field(description="The events' `type` field.", examples=["lap"])
    key: Literal["session_key", "session_key:driver"] = Field(description="The message key.")
    partitions: int = Field(description="Partitions when pitwall creates the topic.")
    partitioning: str = Field(description="Which partition a session's events go to.")
    description: str


class TopicListing(TopicInfo):
    schema_url: str = Field(description="Where this topic's JSON Schema is served.")


class TopicSchema(TopicInfo):
    json_schema: dict[str, Any] = Field(
        alias="schema", description="The JSON Schema, as `pitwall schemas export` writes it."
    )


def _info(spec: TopicSpec, race_partitions: int) -> dict[str, Any]:
    return {
        "topic": spec.name,
        "event_type": spec.model.model_fields["type"].default,
        "key": spec.key,
        "partitions": spec.partition_count(race_partitions),
        "partitioning": PARTITIONING,
        "description": spec.description,
    }


@router.get("", response_model=list[TopicListing], summary="Every topic and its schema's URL")
async def list_schemas(request: Request, res: Res) -> list[TopicListing]:
    """pitwall's topics: key, partitions, partitioning rule, description and schema URL."""
    race = res.settings.kafka_partitions
    return [
        TopicListing(
            **_info(spec, race), schema_url=str(request.url_for("topic_schema", topic=spec.name))
        )
        for spec in ALL_TOPICS
    ]


@router.get(
    "/{topic}",
    response_model=TopicSchema,
    response_model_by_alias=True,
    summary="One topic's JSON Schema",
    responses={404: {"description": "Not one of pitwall's topics; the message lists them."}},
)
async def topic_schema(topic: str, res: Res) -> TopicSchema:
    """The JSON Schema of the topic's events, with its key and partitioning."""
    try:
        spec = get_topic(topic)
    except KeyError as exc:
        raise HTTPException(404, exc.args[0]) from None
    race = res.settings.kafka_partitions
    return TopicSchema(**_info(spec, race), schema=topic_json_schema(spec, race))
