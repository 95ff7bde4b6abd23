"""pitwall's foundation: settings, Kafka client configuration and GC tuning.

Everything may import it; it imports nothing of pitwall's (``lint-imports`` checks it).
"""
