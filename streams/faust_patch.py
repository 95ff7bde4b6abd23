"""Three fixes to Faust's worker: a short fetch wait, true changelog ends, no fetch before seek.

1. **Fetch wait.** Faust hard-codes ``fetch_max_wait_ms=1500`` for its worker consumer. The
   embedded broker does not answer a waiting fetch when new data arrives, so every hop would
   cost about half of that. Each app gets its own wait (``Settings.kafka_fetch_wait_ms``),
   passed to :func:`apply` by the worker's entry point and held on the app itself, where the
   patched method reads it: no setting is kept in this module. The consumer is handed to the
   app's :class:`streams.fetch_pace.FetchPace`, which lengthens the wait while the worker
   is idle.
2. **No fetch before the seek.** After a rebalance Faust resumes the stream partitions while
   the fetcher still runs (it ran for the changelog recovery) and only then seeks them to the
   committed offsets; records fetched in between move Faust's read offsets on, and some
   records re-read after the seek are dropped as already read though they were never
   processed (faust-streaming #216, fixed there only for apps without tables). The flow is
   stopped before that step; Faust resumes it once the seek is done.
3. **True changelog ends.** Faust recovers a table up to the end offset the broker reports;
   the embedded broker reports the base offset of the last record batch + 1, short by the rest
   of that batch, so recovery would stop before the table's last updates.
   :func:`core.kafka.end_offsets` gives the true end (on Kafka the same number).

The patches touch Faust's internals, so :func:`apply` refuses a faust-streaming release it
was not tested with and checks that every target exists, with the parameters the patches
pass, before it replaces anything (``core.compat``).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

from core.compat import IncompatibleLibraryError, require_params
from core.kafka import end_offsets
from streams.fetch_pace import FetchPace

log = logging.getLogger(__name__)

#: faust-streaming minor versions these patches are tested with (tests/streams/test_faust_patch).
TESTED_MINORS = ("0.15",)


class UntestedFaustError(RuntimeError):
    """The installed faust-streaming is not one the patches were tested with."""


@dataclass(frozen=True)
class AppPatch:
    """What the patches need to know of one app (held on the app: :data:`APP_ATTRIBUTE`)."""

    fetch_wait_ms: int
    bootstrap: str
    #: Sets the consumer's fetch wait from then on (None: the wait stays as it is).
    pace: FetchPace | None = None


#: The attribute of a Faust app that holds its :class:`AppPatch`.
APP_ATTRIBUTE = "pitwall_patch"


def _targets() -> dict[str, tuple[Any, str, tuple[str, ...]]]:
    """What the patches replace or wrap: owner, method and the parameters they pass."""
    from faust.tables.recovery import Recovery
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    return {
        "fetch wait": (AIOKafkaConsumerThread, "_create_worker_consumer", ("self", "transport")),
        "recovery completed": (Recovery, "on_recovery_completed", ("self", "generation_id")),
        "resume streams": (Recovery, "_resume_streams", ("self", "generation_id")),
        "highwaters": (
            Recovery, "_build_highwaters", ("self", "consumer", "tps", "destination", "title")
        ),
    }  # fmt: skip


def check_faust(installed: str | None = None) -> None:
    """Raise :class:`UntestedFaustError` unless faust-streaming is a tested release whose
    patch targets all exist."""
    installed = installed or version("faust-streaming")
    if not any(installed == m or installed.startswith(m + ".") for m in TESTED_MINORS):
        raise UntestedFaustError(
            f"faust-streaming {installed} is installed; pitwall's worker patches its internals "
            f"and is tested with {', '.join(m + '.x' for m in TESTED_MINORS)} only "
            "(pip install -r requirements.txt)"
        )
    try:
        for owner, name, params in _targets().values():
            require_params(owner, name, params, "faust-streaming")
        from aiokafka import AIOKafkaConsumer

        init = inspect.signature(AIOKafkaConsumer.__init__).parameters
        if "fetch_max_wait_ms" not in init:  # kept as _fetch_max_wait_ms, which we set
            raise IncompatibleLibraryError("aiokafka: AIOKafkaConsumer has no fetch_max_wait_ms")
    except IncompatibleLibraryError as exc:
        raise UntestedFaustError(str(exc)) from None


def apply(app: Any, fetch_wait_ms: int, bootstrap: str, pace: FetchPace | None = None) -> None:
    """Patch Faust (once per process) and give ``app`` its fetch wait, broker and pace (held
    on the app, read by the patched methods through their ``self.app``)."""
    setattr(app, APP_ATTRIBUTE, AppPatch(fetch_wait_ms, bootstrap, pace))
    from faust.tables.recovery import Recovery
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    if getattr(AIOKafkaConsumerThread, "_pitwall_patched", False):
        return
    check_faust()
    AIOKafkaConsumerThread._create_worker_consumer = _fetch_wait(
        AIOKafkaConsumerThread._create_worker_consumer
    )
    for name in ("on_recovery_completed", "_resume_streams"):
        setattr(Recovery, name, _stop_flow_first(getattr(Recovery, name)))
    Recovery._build_highwaters = _true_ends(Recovery._build_highwaters)
    AIOKafkaConsumerThread._pitwall_patched = True


def patch_of(app: Any) -> AppPatch:
    """The settings :func:`apply` gave ``app`` (KeyError if it was not called)."""
    patch = _patch_or_none(app)
    if patch is None:
        raise KeyError(app)
    return patch


def _patch_or_none(app: Any) -> AppPatch | None:
    patch = getattr(app, APP_ATTRIBUTE, None)
    return patch if isinstance(patch, AppPatch) else None


def _fetch_wait(original: Any) -> Any:
    def create_worker_consumer(self: Any, transport: Any) -> Any:
        consumer = original(self, transport)
        patch = _patch_or_none(self.app)
        if patch is not None:
            if not hasattr(consumer, "_fetch_max_wait_ms"):
                raise UntestedFaustError("aiokafka consumer has no _fetch_max_wait_ms")
            consumer._fetch_max_wait_ms = patch.fetch_wait_ms  # read when it starts
            if patch.pace is not None:
                patch.pace.consumers.append(consumer)
        return consumer

    return create_worker_consumer


def _stop_flow_first(original: Any) -> Any:
    def patched(self: Any, generation_id: int = 0) -> Any:
        self.app.consumer.stop_flow()  # resumed by Faust after perform_seek()
        return original(self, generation_id=generation_id)

    return patched


def _true_ends(original: Any) -> Any:
    async def patched(self: Any, consumer: Any, tps: Any, destination: Any, title: str) -> None:
        await original(self, consumer, tps, destination, title)
        patch = _patch_or_none(self.app)
        if patch is None:
            return
        for topic in sorted({tp.topic for tp in tps if destination.get(tp, -1) >= 0}):
            ends = await asyncio.to_thread(end_offsets, patch.bootstrap, topic)
            for tp in (tp for tp in tps if tp.topic == topic):
                last = ends.get(tp.partition, 0) - 1  # Faust's highwater: the last offset
                if last > destination[tp]:
                    log.info("%s highwater %s: %d -> %d", title, tp, destination[tp], last)
                    destination[tp] = last

    return patched
