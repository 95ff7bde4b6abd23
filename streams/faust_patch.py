"""Faust settings the embedded broker needs: a short fetch wait for the worker's consumer.

Faust hard-codes ``fetch_max_wait_ms=1500`` for its worker consumer. The embedded broker
(Tansu) does not answer a waiting fetch when new data arrives, so every hop would cost about
half of that (~700 ms). pitwall sets the wait from ``PITWALL_FETCH_WAIT_MS`` (default 10 ms:
~5 ms per hop there; on real Kafka, which wakes waiting fetches, 100-500 ms costs nothing).
"""

from __future__ import annotations

from typing import Any

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
