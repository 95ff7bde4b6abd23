"""Replaying past sessions as if live: loading them (FastF1), one ordered event timeline,
the pacing clock and its pause controls, publishing the timeline to Kafka (the engine of
``simulate_live``) and playing a recorded live feed back on the same clock."""
