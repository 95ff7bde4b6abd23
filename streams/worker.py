"""Running the worker: a Faust worker process for the app of ``streams.app``."""

from __future__ import annotations

import logging
import sys

from core.settings import Settings


def run(settings: Settings, loglevel: str = "WARNING", index: int = 0) -> None:
    """Load and warm the race models, then run the worker in this process until SIGINT or
    SIGTERM. The models are ready before the worker joins its group, so the first lap does
    not block the event loop for seconds (a stall that also widened a Faust rebalance race)."""
    import faust

    from core.compat import require_params
    from core.gc import freeze_startup_objects
    from strategy import battles, warmup
    from strategy.artifacts import load_models
    from streams.app import make_app

    require_params(
        faust.Worker, "_setup_spinner_handler", ("self", "logger", "level"), "faust-streaming"
    )

    class Worker(faust.Worker):
        def _setup_spinner_handler(self, logger: logging.Logger, level: int) -> None:
            """No terminal spinner: Faust sets the root logger to DEBUG for it, so every
            aiokafka debug record would be built."""

    print("pitwall worker: loading the race models ...", file=sys.stderr, flush=True)
    models = load_models(settings.model_dir)
    warmup(models)
    app = make_app(settings, models, battles.load(settings.model_dir), index)
    freeze_startup_objects()  # models, pandas, numba: out of every later collection
    # Faust (mode) replaces the root logger's handlers with its own format: hand it back
    # the process's structured handler (core.logs), and no config of its own, so the
    # worker's lines are JSON/readable like every other process's, with the event's
    # session, topic, partition and offset (streams.app.bind_event).
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_pitwall", False)]
    if ours:
        app.conf.loghandlers = ours
    worker = Worker(
        app,
        loglevel=loglevel,
        quiet=True,
        redirect_stdouts=False,
        logging_config={"version": 1, "disable_existing_loggers": False} if ours else None,
    )
    logging.getLogger("faust").setLevel(loglevel)
    worker.execute_from_commandline()


def run_many(settings: Settings, processes: int, loglevel: str = "WARNING") -> int:
    """Run ``processes`` workers (one consumer group) until SIGINT/SIGTERM; the exit code is
    the first non-zero one of a worker, else 0. A worker that dies is not restarted here
    (the others take its partitions; a supervisor such as compose restarts it)."""
    import multiprocessing as mp
    import signal

    ctx = mp.get_context("spawn")  # each worker builds its own Faust app, loop and threads
    procs = [
        ctx.Process(target=run, args=(settings, loglevel, i), name=f"pitwall-worker-{i}")
        for i in range(processes)
    ]
    for p in procs:
        p.start()

    def stop(signum: int, frame: object) -> None:
        for p in procs:
            if p.is_alive():
                p.terminate()  # SIGTERM: Faust stops cleanly

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    print(f"pitwall worker: {processes} processes in one group", file=sys.stderr, flush=True)
    for p in procs:
        p.join()
    codes = [p.exitcode or 0 for p in procs]
    return next((c for c in codes if c not in (0, -signal.SIGTERM)), 0)
