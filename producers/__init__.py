"""Publishing race events to Kafka: the keyed idempotent producer, topic admin, the replay
publisher and the live-timing client."""
