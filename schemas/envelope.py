"""The envelope every pitwall event carries, whatever its topic.

Consumers rely on these fields to route (``type``), to evolve safely (``schema_version``),
to group by race (``session_key``), to order (``event_time``) and to measure end-to-end
latency (``produced_at``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class EventTime(BaseModel):
    """When an event happened: seconds since the session's t0 and, where known, UTC."""

    model_config = ConfigDict(frozen=True)

    session_time: float = Field(description="Seconds since the session's time origin (t0).")
    utc: datetime | None = Field(default=None, description="Wall-clock time of the event, UTC.")


class Envelope(BaseModel):
    """Base of every event model: the fields shared by all topics."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    #: Name of the event kind; a Literal on each subclass.
    type: str
    schema_version: int = Field(default=1, description="Version of this event's schema.")
    session_key: str = Field(
        description="Session the event belongs to, e.g. '2023-monaco-R'.",
        examples=["2023-monaco-R"],
    )
    event_time: EventTime
    produced_at: datetime = Field(
        default_factory=utcnow, description="When the producer published the event (UTC)."
    )

    #: True when the topic is keyed per driver (``session_key:driver``).
    per_driver: ClassVar[bool] = False

    def key(self) -> str:
        """The Kafka message key: the session, or ``session:driver`` for per-driver events."""
        if self.per_driver:
            return f"{self.session_key}:{self.driver}"  # type: ignore[attr-defined]
        return self.session_key
