"""Creating pitwall's topics explicitly, with their partition counts and configs."""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from schemas.topics import ALL_TOPICS, TopicSpec


@dataclass
class TopicResult:
    name: str
    partitions: int
    status: str  # "created", "exists", or an error message


def create_topics(
    bootstrap: str,
    partitions: int,
    specs: tuple[TopicSpec, ...] = ALL_TOPICS,
    timeout: float = 15.0,
) -> list[TopicResult]:
    """Create every topic that does not exist yet; report each one's status.

    Race topics get ``partitions`` (``Settings.kafka_partitions``), the others their own.
    """
    race = partitions
    admin = AdminClient({"bootstrap.servers": bootstrap})
    existing = admin.list_topics(timeout=timeout).topics
    results: list[TopicResult] = []
    todo = []
    for spec in specs:
        if spec.name in existing:
            have = len(existing[spec.name].partitions)
            want = spec.partition_count(race)
            status = "exists" if have == want else f"exists with {have} partitions"
            results.append(TopicResult(spec.name, have, status))
        else:
            todo.append(spec)
    if todo:
        futures = admin.create_topics(
            [
                NewTopic(
                    s.name,
                    num_partitions=s.partition_count(race),
                    replication_factor=s.replication_factor,
                    config=s.config,
                )
                for s in todo
            ],
            operation_timeout=timeout,
        )
        for spec in todo:
            try:
                futures[spec.name].result(timeout)
                results.append(TopicResult(spec.name, spec.partition_count(race), "created"))
            except KafkaException as exc:
                err = exc.args[0]
                status = "exists" if err.code() == 36 else f"error: {err.str()}"  # 36: exists
                results.append(TopicResult(spec.name, spec.partition_count(race), status))
    order = {s.name: i for i, s in enumerate(specs)}
    return sorted(results, key=lambda r: order[r.name])
