"""Structured logs for every pitwall process (structlog over the standard library).

One line per event, with its context as fields: JSON (one object per line, for a log
collector) when the output is not a terminal, human-readable key=value lines on a terminal;
``PITWALL_LOG_FORMAT`` (auto, json, console) chooses otherwise. Every line carries
``process`` (api, worker, sink, ...) and what structlog's context variables hold at the
time: the API binds ``request_id`` for each HTTP request, the worker and the sinks bind
``session``, ``topic``, ``partition`` and ``offset`` while they handle an event, so one
event can be followed across processes. Lines of other libraries (logging.getLogger) go
through the same renderer, so the output is uniformly JSON or uniformly readable.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

_configured: tuple[str, str, str] | None = None


def _want_json(fmt: str, stream: Any) -> bool:
    if fmt == "json":
        return True
    if fmt == "console":
        return False
    isatty = getattr(stream, "isatty", None)
    return not (isatty and isatty())


def configure(process: str, fmt: str = "auto", level: str = "INFO", stream: Any = None) -> None:
    """Route structlog and the standard library's loggers to ``stream`` (stderr) as JSON or
    readable lines; idempotent per (process, format, level)."""
    global _configured
    stream = stream or sys.stderr
    key = (process, fmt, level.upper())
    if _configured == key:
        return
    _configured = key
    json_lines = _want_json(fmt, stream)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_process(process),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_lines
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *([structlog.processors.format_exc_info] if json_lines else []),
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_pitwall", False) or isinstance(old, logging.StreamHandler):
            root.removeHandler(old)
    handler._pitwall = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.WARNING)  # other libraries: warnings and errors
    for name in ("pitwall", "api", "consumers", "streams", "producers", "replay", "strategy"):
        logging.getLogger(name).setLevel(level.upper())


def _add_process(process: str):
    def add(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
        event.setdefault("process", process)
        return event

    return add


def bind(**fields: Any) -> None:
    """Add fields to every line logged from this context (thread or task) on."""
    structlog.contextvars.bind_contextvars(**fields)


def unbind(*names: str) -> None:
    structlog.contextvars.unbind_contextvars(*names)
