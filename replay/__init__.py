"""Replaying past sessions as if live: loading them (FastF1), one ordered event timeline,
the pacing clock, and ``simulate_live`` publishing the timeline to Kafka."""
