"""The topic registry: every Kafka topic pitwall uses, its event model, key and config.

This is the single source of truth for topic names. Topics are created explicitly with
these partition counts (the embedded broker would otherwise auto-create them with 4,
which breaks Faust's co-partitioning if counts ever differ).

Partitioning: every event of a session, on every race topic, goes to the same partition
number, ``partition_for(session_key, partitions)``, whatever its key (``session_key`` or
``session_key:driver``). A consumer of one partition sees whole sessions in order, so the stream
worker reads the race topics directly, with its tables co-partitioned, and no re-keying hop.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Literal

from schemas.battles import BattlesEvent
from schemas.derived import DegradationEvent, FeaturesEvent, StrategyEvent
from schemas.dlq import DlqEvent
from schemas.envelope import Envelope
from schemas.race import (
    LapEvent,
    RaceControlEvent,
    SessionEvent,
    StintEvent,
    TelemetryEvent,
    TimingEvent,
    TrackStatusEvent,
    WeatherEvent,
)

#: Partitions of every race topic unless ``PITWALL_PARTITIONS`` says otherwise when the topics
#: are created (``producers.admin.create_topics``). Equal counts keep sessions co-partitioned;
#: producers and the worker read the count from the broker.
RACE_PARTITIONS = 1
WEEK_MS = 7 * 24 * 3600 * 1000


#: The partitioning rule, in words, for consumers and producers outside pitwall.
PARTITIONING = (
    "Every event of a session goes to partition crc32(session_key) % partitions of every topic, "
    "whatever its message key (schemas.topics.partition_for), so one partition holds a whole "
    "session in order; per-driver keys only name the driver."
)


def partition_for(session_key: str, partitions: int) -> int:
    """The partition of a session's events on a topic of ``partitions`` partitions.

    CRC-32 of the session key, as librdkafka's default partitioner computes it for a
    session-keyed event: such events land where a plain keyed producer would put them.
    """
    return zlib.crc32(session_key.encode()) % partitions


@dataclass(frozen=True)
class TopicSpec:
    """A topic: its name, the model of its events, how it is keyed, partitions and config."""

    name: str
    model: type[Envelope]
    key: Literal["session_key", "session_key:driver"]
    description: str
    #: None: a race topic, with the race topics' count (``PITWALL_PARTITIONS``).
    partitions: int | None = None
    replication_factor: int = 1
    config: dict[str, str] = field(
        default_factory=lambda: {"cleanup.policy": "delete", "retention.ms": str(WEEK_MS)}
    )

    def partition_count(self, race: int = RACE_PARTITIONS) -> int:
        """This topic's partitions when the race topics get ``race`` of them."""
        return self.partitions or race


def _spec(name: str, model: type[Envelope], description: str, **kw: object) -> TopicSpec:
    key = "session_key:driver" if model.per_driver else "session_key"
    return TopicSpec(name=name, model=model, key=key, description=description, **kw)  # type: ignore[arg-type]


SESSION = _spec("f1.session.v1", SessionEvent, "Session status, lap count and session info.")
LAPS = _spec("f1.laps.v1", LapEvent, "One event per completed lap of each driver.")
TIMING = _spec("f1.timing.v1", TimingEvent, "Position, gap to leader and interval updates.")
STINTS = _spec("f1.stints.v1", StintEvent, "Tyre changes: compound, new/used, age at start.")
TRACK_STATUS = _spec("f1.track_status.v1", TrackStatusEvent, "Green, yellow, SC, VSC, red.")
RACE_CONTROL = _spec("f1.race_control.v1", RaceControlEvent, "Race-control messages.")
WEATHER = _spec("f1.weather.v1", WeatherEvent, "Weather samples.")
TELEMETRY = _spec("f1.telemetry.v1", TelemetryEvent, "Car data and position samples.")
FEATURES = _spec("f1.features.v1", FeaturesEvent, "Per driver per lap stint features.")
DEGRADATION = _spec("f1.degradation.v1", DegradationEvent, "Per driver per lap degradation.")
STRATEGY = _spec("f1.strategy.v1", StrategyEvent, "Per session strategy for the whole field.")
BATTLES = _spec("f1.battles.v1", BattlesEvent, "Per session per lap battle forecast.")
DLQ = _spec("f1.dlq.v1", DlqEvent, "Inputs that could not be parsed or validated.", partitions=1)

#: Topics a race source (replay or live feed) publishes.
RAW_TOPICS: tuple[TopicSpec, ...] = (
    SESSION,
    LAPS,
    TIMING,
    STINTS,
    TRACK_STATUS,
    RACE_CONTROL,
    WEATHER,
    TELEMETRY,
)
#: Topics the stream worker derives.
DERIVED_TOPICS: tuple[TopicSpec, ...] = (FEATURES, DEGRADATION, STRATEGY, BATTLES)
ALL_TOPICS: tuple[TopicSpec, ...] = (*RAW_TOPICS, *DERIVED_TOPICS, DLQ)

BY_NAME: dict[str, TopicSpec] = {t.name: t for t in ALL_TOPICS}
BY_TYPE: dict[str, TopicSpec] = {t.model.model_fields["type"].default: t for t in ALL_TOPICS}


def topic_for(event: Envelope) -> TopicSpec:
    """The topic an event belongs on."""
    return BY_TYPE[event.type]


def get_topic(name: str) -> TopicSpec:
    """A topic by name, with a clear error listing the known ones."""
    try:
        return BY_NAME[name]
    except KeyError:
        known = ", ".join(sorted(BY_NAME))
        raise KeyError(f"unknown topic {name!r}; known topics: {known}") from None
