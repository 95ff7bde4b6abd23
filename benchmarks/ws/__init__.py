"""The WebSocket fan-out benchmark (``benchmarks/bench_ws.py``): client, load, report, main."""
