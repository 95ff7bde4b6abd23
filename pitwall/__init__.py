"""pitwall: a real-time Formula 1 race-strategy engine on Kafka."""

__version__ = "0.1.0"
