"""The stream worker: Faust agents that turn race events into features, degradation and strategy.

Topic wiring and per-session state only; the maths lives in the race model (``strategy``).
"""
