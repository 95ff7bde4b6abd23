"""Running the worker: a Faust worker process for the app of ``streams.app``."""

from __future__ import annotations

import logging
import sys

from pitwall.core.settings import Settings


def run(settings: Settings, loglevel: str = "WARNING") -> None:
    """Load and warm the race models, then run the worker in this process until SIGINT or
    SIGTERM. The models are ready before the worker joins its group, so the first lap does
    not block the event loop for seconds (a stall that also widened a Faust rebalance race)."""
    import faust

    from pitwall.core.gc import freeze_startup_objects
    from strategy import warmup
    from strategy.artifacts import load_models
    from streams.app import make_app

    class Worker(faust.Worker):
        def _setup_spinner_handler(self, logger: logging.Logger, level: int) -> None:
            """No terminal spinner: Faust sets the root logger to DEBUG for it, so every
            aiokafka debug record would be built."""

    print("pitwall worker: loading the race models ...", file=sys.stderr, flush=True)
    models = load_models(settings.model_dir, settings.data_dir)
    warmup(models)
    app = make_app(settings, models)
    freeze_startup_objects()  # models, pandas, numba: out of every later collection
    worker = Worker(app, loglevel=loglevel, quiet=True, redirect_stdouts=False)
    logging.getLogger("faust").setLevel(loglevel)
    worker.execute_from_commandline()
