"""pitwall's event schemas: one pydantic model per Kafka topic, the topic registry, codecs.

Everything that produces or consumes a topic imports its model from here.
"""

from schemas.battles import BattlePair, BattlesEvent
from schemas.codec import DecodeError, decode, decode_any, decode_as, encode
from schemas.derived import (
    DegradationEvent,
    DriverStrategy,
    FeaturesEvent,
    PitWindow,
    StrategyEvent,
)
from schemas.dlq import DlqEvent
from schemas.envelope import Envelope, EventTime, utcnow
from schemas.race import (
    TRACK_STATUS_CODES,
    CarStatus,
    DriverInfo,
    LapEvent,
    RaceControlEvent,
    SessionEvent,
    StintEvent,
    TelemetryEvent,
    TimingEvent,
    TrackState,
    TrackStatusEvent,
    WeatherEvent,
)
from schemas.topics import ALL_TOPICS, BY_NAME, DERIVED_TOPICS, RAW_TOPICS, TopicSpec, topic_for

__all__ = [
    "ALL_TOPICS",
    "BY_NAME",
    "DERIVED_TOPICS",
    "RAW_TOPICS",
    "TRACK_STATUS_CODES",
    "BattlePair",
    "BattlesEvent",
    "CarStatus",
    "DecodeError",
    "DegradationEvent",
    "DlqEvent",
    "DriverInfo",
    "DriverStrategy",
    "Envelope",
    "EventTime",
    "FeaturesEvent",
    "LapEvent",
    "PitWindow",
    "RaceControlEvent",
    "SessionEvent",
    "StintEvent",
    "StrategyEvent",
    "TelemetryEvent",
    "TimingEvent",
    "TopicSpec",
    "TrackState",
    "TrackStatusEvent",
    "WeatherEvent",
    "decode",
    "decode_any",
    "decode_as",
    "encode",
    "topic_for",
    "utcnow",
]
