"""The dead-letter event: an input that could not be parsed or validated, kept intact."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.envelope import Envelope


class DlqEvent(Envelope):
    """Why an input was rejected, where it came from, and its raw bytes (base64)."""

    type: Literal["dlq"] = "dlq"
    source: str = Field(description="Topic or feed the input came from.")
    reason: str
    error_type: str | None = None
    raw_b64: str = Field(description="The raw input, base64-encoded.")
    message_key: str | None = None
    partition: int | None = None
    offset: int | None = None
