"""Prometheus metrics of the API and gateway, and the ``/metrics`` endpoint.

Request latency per route, broadcast latency (event ``produced_at`` -- or
``source_produced_at`` for derived events -- to the moment the gateway hands the message to
the client's socket), connected WebSocket clients, dropped slow clients, and the consumer lag
of every Kafka consumer group the broker reports (sink, worker), computed on scrape.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.routing import Match

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
FINE_BUCKETS = (
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0,
)  # fmt: skip


class Metrics:
    """The metrics of one app (own registry, so several apps can live in one test process)."""

    def __init__(self, kafka_bootstrap: str | None = None) -> None:
        self.registry = CollectorRegistry()
        self.request_seconds = Histogram(
            "pitwall_http_request_duration_seconds",
            "REST request latency.",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.broadcast_seconds = Histogram(
            "pitwall_ws_broadcast_latency_seconds",
            "Event produced_at (source_produced_at for derived events) to the gateway's send.",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.pubsub_seconds = Histogram(
            "pitwall_ws_pubsub_latency_seconds",
            "The Redis writer's publish (published_at) to the gateway's receipt of the update.",
            buckets=FINE_BUCKETS,
            registry=self.registry,
        )
        self.fanout_seconds = Histogram(
            "pitwall_ws_fanout_seconds",
            "Time to hand one burst of updates to every local client of its session.",
            buckets=FINE_BUCKETS,
            registry=self.registry,
        )
        self.clients = Gauge(
            "pitwall_ws_clients_connected", "WebSocket clients connected.", registry=self.registry
        )
        self.messages = Counter(
            "pitwall_ws_messages_total",
            "Live updates received from Redis pub/sub.",
            ["kind"],
            registry=self.registry,
        )
        self.frames = Counter(
            "pitwall_ws_frames_sent_total",
            "Frames sent to WebSocket clients: 'direct' (a burst's ready-made frame written "
            "straight to a client that keeps up) or 'queued' (through the client's queue).",
            ["path"],
            registry=self.registry,
        )
        self.dropped = Counter(
            "pitwall_ws_clients_dropped_total",
            "Clients disconnected for falling too far behind.",
            registry=self.registry,
        )
        self.registry.register(ConsumerLagCollector(kafka_bootstrap))


class ConsumerLagCollector(Collector):
    """Per consumer group and topic: messages not yet committed (end offset - committed)."""

    CACHE_S = 5.0

    def __init__(self, bootstrap: str | None) -> None:
        self.bootstrap = bootstrap
        self._cached: list[tuple[str, str, int]] = []
        self._at = 0.0

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "pitwall_consumer_lag_messages",
            "Kafka consumer lag per group and topic (messages).",
            labels=["group", "topic"],
        )
        if time.monotonic() - self._at > self.CACHE_S:
            try:
                self._cached = consumer_lag(self.bootstrap) if self.bootstrap else []
            except Exception as exc:  # the broker may be down: metrics must still answer
                log.debug("consumer lag unavailable: %s", exc)
                self._cached = []
            self._at = time.monotonic()
        for group, topic, lag in self._cached:
            family.add_metric([group, topic], lag)
        yield family


def consumer_lag(bootstrap: str, timeout: float = 2.0) -> list[tuple[str, str, int]]:
    """(group, topic, lag) for every consumer group on the broker at ``bootstrap``."""
    from confluent_kafka.admin import AdminClient

    from core.kafka import end_offsets

    admin = AdminClient({"bootstrap.servers": bootstrap})
    groups = admin.list_consumer_groups(request_timeout=timeout).result(timeout)
    ids = [g.group_id for g in groups.valid]
    if not ids:
        return []
    out: list[tuple[str, str, int]] = []
    ends: dict[str, dict[int, int]] = {}
    for gid in ids:
        futures = admin.list_consumer_group_offsets([_group_request(gid)], request_timeout=timeout)
        result = next(iter(futures.values())).result(timeout)
        per_topic: dict[str, int] = {}
        for tp in result.topic_partitions:
            if tp.offset < 0:
                continue
            if tp.topic not in ends:
                ends[tp.topic] = end_offsets(bootstrap, tp.topic, timeout=timeout)
            high = ends[tp.topic].get(tp.partition, 0)
            per_topic[tp.topic] = per_topic.get(tp.topic, 0) + max(high - tp.offset, 0)
        out.extend((gid, topic, lag) for topic, lag in per_topic.items())
    return out


def _group_request(group_id: str):
    from confluent_kafka import ConsumerGroupTopicPartitions

    return ConsumerGroupTopicPartitions(group_id)


class RequestMetricsMiddleware(BaseHTTPMiddleware):
    """Times every HTTP request under its route template (not the raw path)."""

    def __init__(self, app, metrics: Metrics) -> None:
        super().__init__(app)
        self.metrics = metrics

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = _route_of(request)
            self.metrics.request_seconds.labels(request.method, route, str(status)).observe(
                time.perf_counter() - started
            )


def _route_of(request: Request) -> str:
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match == Match.FULL:
            return getattr(route, "path", request.url.path)
    return "unmatched"


router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
async def metrics_endpoint(request: Request) -> Response:
    """Request latency, broadcast latency, clients connected, consumer lag (Prometheus text)."""
    import asyncio

    metrics: Metrics = request.app.state.metrics
    body = await asyncio.to_thread(generate_latest, metrics.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
