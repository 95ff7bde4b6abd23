"""Fast decoding for bulk consumers: msgspec structs derived from the pydantic models.

The pydantic models stay the one schema. From a topic's model this derives a msgspec
``Struct`` with the same fields, types, defaults and bounds, for every model that maps onto
msgspec one to one (scalars, datetimes, literals, enums, optionals, nested models and
``ge``/``gt``/``le``/``lt`` bounds; no validators, aliases or containers). Decoding into it
is several times faster than pydantic (``benchmarks/RESULTS.md``), and decoding is what
limits the PostgreSQL sink.

The struct decodes strictly (no coercion), so whatever it accepts pydantic accepts too, with
the same values. One exception: a time given finer than a microsecond (no pitwall producer
writes one) is rounded to the microsecond, where pydantic truncates it; looking for one in
every message cost as much as decoding it. Anything the struct rejects is handed to
pydantic, which either accepts it (a lax coercion such as ``"3"`` for an int) or raises the
same :class:`DecodeError` as :func:`schemas.decode` would: the schema check and the DLQ
reasons do not change. ``tests/schemas/test_fastcodec.py`` holds both codecs to that on real
events and on malformed ones.

The result has the model's attributes but none of its methods: use it where rows are built
from attributes (the sink), and :func:`schemas.decode` wherever a model is wanted.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import types
import typing
from datetime import datetime
from typing import Any

import annotated_types
import msgspec
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from schemas.codec import decode
from schemas.envelope import Envelope
from schemas.topics import ALL_TOPICS

_SCALARS = (bool, int, float, str, datetime, type(None))
_BOUNDS = {
    annotated_types.Ge: "ge",
    annotated_types.Gt: "gt",
    annotated_types.Le: "le",
    annotated_types.Lt: "lt",
}
#: model_config keys that do not change what validation accepts or returns.
_NEUTRAL_CONFIG = {"extra", "populate_by_name", "frozen", "title", "json_schema_extra"}


class Unsupported(TypeError):
    """A model (or one of its fields) that msgspec cannot decode exactly as pydantic does."""


def _type(annotation: Any) -> Any:
    """The msgspec type for a field annotation, or :class:`Unsupported`."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return typing.Union[tuple(_type(a) for a in typing.get_args(annotation))]  # noqa: UP007
    if origin is typing.Literal:
        if all(isinstance(v, str) for v in typing.get_args(annotation)):
            return annotation
        raise Unsupported(f"literal {annotation}")
    if annotation in _SCALARS:
        return annotation
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return struct_for(annotation)
    raise Unsupported(f"type {annotation!r}")


def _field_type(name: str, info: Any) -> Any:
    kind = _type(info.annotation)
    bounds: dict[str, Any] = {}
    for meta in info.metadata:
        key = _BOUNDS.get(type(meta))
        if key is None:
            raise Unsupported(f"{name}: constraint {meta!r}")
        bounds[key] = getattr(meta, key)
    if bounds:
        if kind not in (int, float):  # e.g. int | None: msgspec bounds apply to one type
            raise Unsupported(f"{name}: bounds on {info.annotation!r}")
        return typing.Annotated[kind, msgspec.Meta(**bounds)]
    return kind


@functools.cache
def struct_for(model: type[BaseModel]) -> type[msgspec.Struct]:
    """The msgspec struct that decodes what ``model`` accepts, or :class:`Unsupported`
    (one per model: the topics share their nested ``EventTime`` struct)."""
    d = model.__pydantic_decorators__
    if d.validators or d.field_validators or d.root_validators or d.model_validators:
        raise Unsupported(f"{model.__name__} has validators")
    if set(model.model_config) - _NEUTRAL_CONFIG:
        raise Unsupported(f"{model.__name__} config {dict(model.model_config)}")
    fields: list[tuple[str, Any, Any]] = []
    for name, info in model.model_fields.items():
        if info.alias or info.validation_alias:
            raise Unsupported(f"{model.__name__}.{name} has an alias")
        kind = _field_type(name, info)
        if info.default_factory is not None:
            fields.append((name, kind, msgspec.field(default_factory=info.default_factory)))
        elif info.default is PydanticUndefined:
            fields.append((name, kind))  # type: ignore[arg-type]
        else:
            fields.append((name, kind, info.default))
    return msgspec.defstruct(
        model.__name__,
        fields,
        kw_only=True,
        frozen=True,
        gc=False,  # scalars and nested structs only: no cycles for the collector to find
        forbid_unknown_fields=model.model_config.get("extra") == "forbid",
    )


def _decoders() -> dict[str, msgspec.json.Decoder]:
    out = {}
    for spec in ALL_TOPICS:
        with contextlib.suppress(Unsupported):  # else pydantic decodes this topic
            out[spec.name] = msgspec.json.Decoder(struct_for(spec.model))
    return out


#: topic name -> decoder, for the topics whose model maps onto msgspec.
DECODERS: dict[str, msgspec.json.Decoder] = _decoders()


def decode_fast(topic: str, raw: bytes) -> Envelope | msgspec.Struct:
    """``raw`` as an event of ``topic``: a struct with the model's fields when msgspec can
    take it, else what :func:`schemas.decode` returns (or the :class:`DecodeError` it raises).
    """
    decoder = DECODERS.get(topic)
    if decoder is not None:
        try:
            return decoder.decode(raw)
        except msgspec.DecodeError:  # also msgspec.ValidationError: pydantic decides
            pass
    return decode(topic, raw)
