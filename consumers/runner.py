"""``pitwall sink``: the PostgreSQL sink and the Redis writer side by side, until stopped."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable

from pitwall.settings import Settings

log = logging.getLogger(__name__)


def run(settings: Settings, only: str | None = None, report: Callable[[str], None] = print) -> None:
    from consumers.pg_sink import run_pg_sink
    from consumers.redis_state import run_redis_writer

    stopping = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    errors: list[BaseException] = []

    def guard(fn: Callable[[], object]) -> Callable[[], None]:
        def body() -> None:
            try:
                fn()
            except BaseException as exc:  # report and stop the other one too
                errors.append(exc)
                log.exception("sink failed")
                stopping.set()

        return body

    threads = []
    if only in (None, "pg"):
        threads.append(
            threading.Thread(
                target=guard(
                    lambda: run_pg_sink(
                        settings.require_kafka, settings.require_database, stopping.is_set
                    )
                ),
                name="pg-sink",
            )
        )
    if only in (None, "redis"):
        threads.append(
            threading.Thread(
                target=guard(lambda: run_redis_writer(settings.require_redis, stopping.is_set)),
                name="redis-writer",
            )
        )
    for t in threads:
        t.start()
    report(f"sink running ({', '.join(t.name for t in threads)}); Ctrl-C stops it")
    while any(t.is_alive() for t in threads):
        for t in threads:
            t.join(0.5)
    if errors:
        raise SystemExit(f"sink stopped: {errors[0]}")
