"""The feed's delta semantics: merge an update into the current state of a topic.

F1's live timing sends a full state once (the subscribe response or a stream's first line)
and then deltas: nested dicts that update only the keys they name. Lists are updated by
index with dicts whose keys are numbers (``{"Stints": {"1": {...}}}`` sets or appends
item 1), ``_deleted`` lists keys (or indices) to remove, ``_kf`` is a key-frame marker.
"""

from __future__ import annotations

from typing import Any


def _index(key: Any) -> int | None:
    try:
        return int(key)
    except (TypeError, ValueError):
        return None


def _merge_into_list(target: list[Any], delta: dict[str, Any]) -> None:
    """Update ``target`` by index; an index one past the end appends."""
    deleted = delta.get("_deleted")
    for key in sorted((k for k in delta if k not in ("_deleted", "_kf")), key=_sort_key):
        i = _index(key)
        if i is None or i < 0:
            continue
        value = delta[key]
        while len(target) < i:
            target.append({})
        if i == len(target):
            target.append(_fresh(value))
        elif isinstance(value, dict) and isinstance(target[i], dict | list):
            merge_delta(target[i], value)
        else:
            target[i] = _fresh(value)
    if isinstance(deleted, list):
        for i in sorted((j for j in map(_index, deleted) if j is not None), reverse=True):
            if 0 <= i < len(target):
                del target[i]


def _sort_key(key: str) -> tuple[int, str]:
    i = _index(key)
    return (i if i is not None else 1 << 30, key)


def _fresh(value: Any) -> Any:
    """A copy of a delta value that later deltas may mutate without touching the message."""
    if isinstance(value, dict):
        return {k: _fresh(v) for k, v in value.items() if k != "_kf"}
    if isinstance(value, list):
        return [_fresh(v) for v in value]
    return value


def merge_delta(target: dict[str, Any] | list[Any], delta: Any) -> None:
    """Apply ``delta`` to ``target`` in place (dict merge, list-by-index, ``_deleted``)."""
    if not isinstance(delta, dict):
        return
    if isinstance(target, list):
        _merge_into_list(target, delta)
        return
    for key, value in delta.items():
        if key in ("_kf", "_deleted"):
            continue
        current = target.get(key)
        if isinstance(value, dict) and isinstance(current, dict | list):
            merge_delta(current, value)
        else:
            target[key] = _fresh(value)
    deleted = delta.get("_deleted")
    if isinstance(deleted, list):
        for key in deleted:
            target.pop(str(key), None)
