"""orjson (de)serialisation of events, with validation on the way in.

``encode`` writes compact JSON bytes; ``decode`` parses and validates them against the
topic's model and raises :class:`DecodeError` (with a reason fit for the DLQ) otherwise.
"""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from pydantic import ValidationError

from schemas.envelope import Envelope
from schemas.topics import BY_NAME, BY_TYPE

E = TypeVar("E", bound=Envelope)


class DecodeError(ValueError):
    """Bytes that are not valid JSON or do not validate against the topic's schema."""

    def __init__(self, reason: str, raw: bytes | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.raw = raw


def encode(event: Envelope) -> bytes:
    """The event as compact JSON bytes (datetimes as RFC 3339 UTC)."""
    return orjson.dumps(event.model_dump(mode="python", exclude_none=False))


def _loads(raw: bytes | str) -> dict[str, Any]:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(f"invalid JSON: {exc}", _raw(raw)) from exc
    if not isinstance(data, dict):
        raise DecodeError(f"expected a JSON object, got {type(data).__name__}", _raw(raw))
    return data


def _raw(raw: bytes | str) -> bytes:
    return raw.encode() if isinstance(raw, str) else raw


def decode_as(model: type[E], raw: bytes | str) -> E:
    """Parse and validate ``raw`` as ``model`` (in one pass: pydantic parses the JSON itself)."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise _decode_error(model, exc, raw) from None


def _decode_error(model: type[Envelope], exc: ValidationError, raw: bytes | str) -> DecodeError:
    errors = exc.errors(include_url=False)
    first = errors[0] if errors else {}
    if first.get("type") == "json_invalid":
        msg = str(first.get("msg", "")).removeprefix("Invalid JSON: ")
        return DecodeError(f"invalid JSON: {msg}", _raw(raw))
    if first.get("type") == "model_type" and not first.get("loc"):
        got = type(orjson.loads(raw)).__name__
        return DecodeError(f"expected a JSON object, got {got}", _raw(raw))
    details = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors[:5])
    return DecodeError(f"schema validation failed ({model.__name__}): {details}", _raw(raw))


def decode(topic: str, raw: bytes | str) -> Envelope:
    """Parse and validate ``raw`` as an event of ``topic``."""
    return decode_as(BY_NAME[topic].model, raw)


def decode_any(raw: bytes | str) -> Envelope:
    """Parse an event of any topic, dispatching on its ``type`` field."""
    data = _loads(raw)
    spec = BY_TYPE.get(str(data.get("type")))
    if spec is None:
        raise DecodeError(f"unknown event type {data.get('type')!r}", _raw(raw))
    try:
        return spec.model.model_validate(data)
    except ValidationError as exc:
        raise _decode_error(spec.model, exc, raw) from None
