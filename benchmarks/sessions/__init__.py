"""The parts of the many-races benchmark (``benchmarks/bench_sessions.py``): the races and
their replays, one worker configuration's run, its measurements and its report."""
