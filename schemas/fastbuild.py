"""Events built without validation, for the paths that make hundreds of thousands of them.

A race with car telemetry has about 750k samples (a replayed parquet export, or the live
feed's ``CarData.z`` / ``Position.z``). Their values come typed from their source, so the
replay and the live parser build them here instead of through pydantic's validation, or even
``model_construct``'s per-field default lookups. What this builds equals the validated
model of the same values (``tests/schemas/test_fastbuild.py`` holds it to that), so nothing
downstream can tell the difference.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from schemas.envelope import EventTime, utcnow
from schemas.race import TelemetryEvent

_TELEMETRY_FIELDS = frozenset(TelemetryEvent.model_fields)
_set_attr = object.__setattr__
#: The instance slots of a pydantic model that are set here besides ``__dict__``.
_SLOTS = ("__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__")


def _can_build() -> bool:
    """Whether pydantic's models still keep their state in :data:`_SLOTS` and ``__dict__``
    (else events go through ``model_construct``: slower, equally right)."""
    return set(_SLOTS) <= set(getattr(BaseModel, "__slots__", ())) and "__dict__" in getattr(
        BaseModel, "__slots__", ()
    )


#: Whether :func:`telemetry_event` builds the instance itself (``tests/test_internals.py``).
FAST = _can_build()


def telemetry_event(
    session_key: str,
    event_time: EventTime,
    driver: str,
    *,
    speed: float | None = None,
    rpm: float | None = None,
    gear: int | None = None,
    throttle: float | None = None,
    brake: bool | None = None,
    drs: int | None = None,
    distance: float | None = None,
    x: float | None = None,
    y: float | None = None,
    z: float | None = None,
    produced_at: datetime | None = None,
) -> TelemetryEvent:
    """A :class:`TelemetryEvent` of these values, unvalidated: the caller passes each value
    with its field's type (``float``, ``int``, ``bool`` or None)."""
    values = {
        "type": "telemetry",
        "schema_version": 1,
        "session_key": session_key,
        "event_time": event_time,
        "produced_at": produced_at or utcnow(),
        "driver": driver,
        "speed": speed,
        "rpm": rpm,
        "gear": gear,
        "throttle": throttle,
        "brake": brake,
        "drs": drs,
        "distance": distance,
        "x": x,
        "y": y,
        "z": z,
    }
    if not FAST:
        return TelemetryEvent.model_construct(_fields_set=set(_TELEMETRY_FIELDS), **values)
    event = object.__new__(TelemetryEvent)
    _set_attr(event, "__dict__", values)
    _set_attr(event, "__pydantic_fields_set__", set(_TELEMETRY_FIELDS))
    _set_attr(event, "__pydantic_extra__", None)
    _set_attr(event, "__pydantic_private__", None)
    return event
