"""The broker benchmark's parts (``benchmarks/bench_broker.py``)."""
