"""Running the worker: a Faust worker process for the app of ``streams.app``."""

from __future__ import annotations

import logging
import sys

from pitwall.settings import Settings, get_settings


def run(settings: Settings | None = None, loglevel: str = "WARNING") -> None:
    """Start the worker in this process until SIGINT/SIGTERM."""
    import faust

    from pitwall.gc_tuning import freeze_startup_objects
    from streams.app import make_app, preload

    class Worker(faust.Worker):
        def _setup_spinner_handler(self, logger: logging.Logger, level: int) -> None:
            """No terminal spinner: Faust sets the root logger to DEBUG for it, so every
            aiokafka debug record would be built (about 4% of the worker's time)."""

    settings = settings or get_settings()
    app = make_app(settings)
    print("pitwall worker: loading the race models ...", file=sys.stderr, flush=True)
    preload(app)
    freeze_startup_objects()  # models, pandas, numba: out of every later collection
    worker = Worker(app, loglevel=loglevel, quiet=True, redirect_stdouts=False)
    logging.getLogger("faust").setLevel(loglevel)
    worker.execute_from_commandline()
