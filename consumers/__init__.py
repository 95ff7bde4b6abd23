"""Sinks: every topic into PostgreSQL/TimescaleDB, and the live state of each session in Redis."""
