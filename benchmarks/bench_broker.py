"""Benchmark: the embedded broker's and each service's CPU per minute over a paced race.

    python benchmarks/bench_broker.py [--race 2025 Australia] [--telemetry-every 5]
                                      [--speed 20] [--minutes 0] [--after 5] [--interval 60]

Issue 37's measure of the broker's cost per event. It starts what ``make demo`` starts, the
way it starts it: the embedded stack (unless KAFKA_BOOTSTRAP, DATABASE_URL and REDIS_URL are
set), the topics, ``pitwall worker``, ``pitwall sink`` (the PostgreSQL sink and the Redis
writer, a process each) and ``pitwall serve``; once each is ready it runs ``pitwall replay
RACE --speed S --from-lap 1 --telemetry-every N`` (the timeline is built first, so the replay
process starts publishing within seconds). It prints each process's share of one core
(user + sys, its children included) per ``--interval`` seconds while the race replays
(``--minutes M``: the replay is stopped with Ctrl-C after M minutes; 0: the whole race),
then for ``--after`` minutes with nothing published; beside them what the rest of the
machine used ("others": other people's work on a shared machine). Then, at the flag and at
the end, the events each consumer group had not yet committed, and the verdicts on the
broker: flat over the race (its last third within 20% or 5 points of its first), under 50%
of a core at 20x, under 5% once nothing flows.
"""

from __future__ import annotations

import argparse

from broker.report import report
from broker.run import run
from harness import Harness, console


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 2)[2],
    )
    parser.add_argument("--race", nargs=2, default=["2025", "Australia"], metavar=("YEAR", "EVENT"))
    parser.add_argument("--telemetry-every", type=int, default=5)
    parser.add_argument("--speed", default="20", help="replay speed (default 20, as make demo)")
    parser.add_argument(
        "--minutes", type=float, default=0, help="stop the replay after this long (0: the race)"
    )
    parser.add_argument(
        "--after", type=float, default=5, help="minutes measured after the flag (default 5)"
    )
    parser.add_argument("--interval", type=float, default=60, help="seconds per row (60)")
    args = parser.parse_args()
    if not console.is_terminal:
        console.width = 150
    with Harness("kafka", "postgres", "redis") as h:
        result = run(h, args)
        report(result, args)


if __name__ == "__main__":
    main()
