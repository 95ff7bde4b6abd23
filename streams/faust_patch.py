"""Three fixes to Faust's worker: a short fetch wait, true changelog ends, no fetch before seek.

Faust hard-codes ``fetch_max_wait_ms=1500`` for its worker consumer. The embedded broker
(Tansu) does not answer a waiting fetch when new data arrives, so every hop would cost about
half of that (~700 ms). pitwall sets the wait from ``PITWALL_FETCH_WAIT_MS`` (default 10 ms:
~5 ms per hop there; on real Kafka, which wakes waiting fetches, 100-500 ms costs nothing).

After a rebalance Faust resumes the stream partitions while the fetcher is still running
(it ran for the changelog recovery) and only then seeks them to the committed offsets.
Records fetched in between reach the agents and move Faust's read offsets on, so some of
the records re-read after the seek are dropped as already read, though they never were
processed (seen as laps missing from f1.features.v1 after a worker restart). The same race
as faust-streaming issue #216, fixed there only for apps without tables. pitwall stops the
flow before that step; Faust resumes it itself once the seek is done.

Faust recovers a table by reading its changelog up to the partition's end offset. Tansu 0.6
reports as end the base offset of the last record batch + 1, so recovery would stop before
the rest of that batch (the table's last updates). pitwall takes the true end instead (see
:func:`pitwall.kafka_config.end_offsets`; on Kafka it is the same number).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger(__name__)

_patched: dict[str, int] = {}


def apply(fetch_wait_ms: int) -> None:
    """Make Faust's worker consumer use ``fetch_wait_ms`` (idempotent)."""
    from faust.transport.drivers import aiokafka as driver

    _patched["fetch_wait_ms"] = fetch_wait_ms
    if getattr(driver.AIOKafkaConsumerThread, "_pitwall_patched", False):
        return
    original = driver.AIOKafkaConsumerThread._create_worker_consumer

    def create_worker_consumer(self: Any, transport: Any) -> Any:
        consumer = original(self, transport)
        consumer._fetch_max_wait_ms = _patched["fetch_wait_ms"]  # read when it starts
        return consumer

    driver.AIOKafkaConsumerThread._create_worker_consumer = create_worker_consumer
    driver.AIOKafkaConsumerThread._pitwall_patched = True
    _seek_before_fetch()
    _true_changelog_ends()


def _seek_before_fetch() -> None:
    from faust.tables.recovery import Recovery

    for name in ("on_recovery_completed", "_resume_streams"):
        original = getattr(Recovery, name)

        def patched(self: Any, generation_id: int = 0, _original: Any = original) -> Any:
            self.app.consumer.stop_flow()  # resumed by Faust after perform_seek()
            return _original(self, generation_id=generation_id)

        setattr(Recovery, name, patched)


def _true_changelog_ends() -> None:
    from faust.tables.recovery import Recovery

    from pitwall.kafka_config import end_offsets

    original = Recovery._build_highwaters

    async def patched(self: Any, consumer: Any, tps: Any, destination: Any, title: str) -> None:
        await original(self, consumer, tps, destination, title)
        for topic in sorted({tp.topic for tp in tps if destination.get(tp, -1) >= 0}):
            ends = await asyncio.to_thread(end_offsets, topic)
            for tp in (tp for tp in tps if tp.topic == topic):
                last = ends.get(tp.partition, 0) - 1  # Faust's highwater: the last offset
                if last > destination[tp]:
                    log.info("%s highwater %s: %d -> %d", title, tp, destination[tp], last)
                    destination[tp] = last

    Recovery._build_highwaters = patched
