"""Benchmark: many races at once through the stream worker, on 1 and on 2 worker processes.

    python benchmarks/bench_sessions.py [--races 8] [--speed 20] [--laps 30] [--workers 1,2]
                                        [--partitions 4] [--launch processes|separate]

Issue 29's scale test (DESIGN.md: "8 races at 20x on 2 worker processes, lap -> strategy p99
< 200 ms"). Different 2023 races are replayed at the same time, each paced from lights out
at ``--speed`` (the hour of feed before the start goes at once, as ``simulate_live --from-lap
1`` does) and published with ``publish_timeline`` under a session key of its own. For each
``--workers`` count the benchmark starts a fresh embedded broker (unless KAFKA_BOOTSTRAP is
set), creates the topics with ``--partitions`` partitions per race topic, and starts the
worker as users do: ``python -m pitwall.cli worker --processes N`` (N processes in one
consumer group sharing the partitions; ``--launch separate``: N ``pitwall worker`` commands,
each in a session of its own). The session keys are chosen so that the races spread
evenly over the partitions (race i on partition i mod P), as hashing many keys does on
average; each key's partition is printed.

Before the races, one warm-up session per partition (three laps, at maximum speed) waits for
a strategy update from each, so every partition is assigned and the worker's first calls are
made. Then the races run; ``--laps K`` stops each replay after the leader's lap K (0: whole
races, ~5 min of real time per configuration at 20x) so that the default run of both
configurations takes about 7 min (the figures are of those laps: the output says so).

Printed per session and configuration, read by a plain consumer of f1.strategy.v1 in this
process:

- lap -> strategy p50/p99/max: for every lap event, its ``produced_at`` -> the ARRIVAL (at
  this reader) of the first strategy update that covers it (whose ``source_produced_at`` is
  at or after the lap's), the figure the target is judged on; beside it the p99 without lap
  1 (the races all start at once) and the p99 to that update's ``produced_at`` (the worker's
  clock: without the last hop to a reader); and the lap numbers of the slowest 1%;
- laps covered: the leader laps that got a strategy update of their own / leader laps
  replayed;
- where the time goes over all sessions: trigger produced -> strategy produced, of which
  ``recommend()`` with its Monte Carlo (``compute_ms``) and the rest (waiting behind other
  updates, hops, the battle forecast), and strategy produced -> received;
- CPU (user + sys seconds, and % of one core over the measured run) of each worker process,
  the broker and this process (the replays and the reader), the seconds each waited for a
  CPU while runnable, and how busy the whole machine was (other users' processes included);
- last, 1 against 2 workers per session, and whether the target was met.
"""

from __future__ import annotations

import argparse

from harness import console, int_list
from sessions.races import RACES, load_races
from sessions.report import print_comparison, print_run
from sessions.run import run_config

from core.settings import get_settings


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--races",
        type=int,
        default=8,
        help=f"how many different 2023 races run at once, from: {', '.join(RACES)} (default 8)",
    )
    parser.add_argument("--speed", default="20", help="replay speed factor, or 'max' (default 20)")
    parser.add_argument(
        "--laps",
        type=int,
        default=30,
        help="stop each replay after the leader's lap K (default 30; 0: the whole race, "
        "~5 min per configuration at 20x)",
    )
    parser.add_argument(
        "--workers",
        default="1,2",
        type=int_list,
        help="worker process counts to run, one configuration each (default 1,2)",
    )
    parser.add_argument(
        "--partitions",
        type=int,
        default=4,
        help="partitions of each race topic (default 4, as compose.yaml; the worker processes "
        "share them, so more processes than partitions leaves some idle)",
    )
    parser.add_argument(
        "--launch",
        choices=("processes", "separate"),
        default="processes",
        help="several workers as one `pitwall worker --processes N` (default), or as N "
        "`pitwall worker` commands, each in a session of its own",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=180.0,
        help="give up waiting for strategy updates this long (s) after the slowest race "
        "should have ended (default 180)",
    )
    args = parser.parse_args()
    if not console.is_terminal:
        console.width = 120  # tables whole in a log or RESULTS.md
    if not 1 <= args.races <= len(RACES):
        parser.error(f"--races: 1 to {len(RACES)}")
    races = load_races(list(RACES[: args.races]), args.laps)
    laps = "whole races" if args.laps <= 0 else f"the first {args.laps} leader laps"
    console.print(
        f"run: {args.races} races of 2023 ({', '.join(r.name for r in races)}) at once at "
        f"{args.speed}x from lights out, {laps}; worker processes {args.workers}; "
        f"{args.partitions} partitions per race topic; {get_settings().kafka_fetch_wait_ms} ms "
        f"fetch wait; several workers started as "
        + (
            "`pitwall worker --processes N`"
            if args.launch == "processes"
            else "N `pitwall worker` commands, a session each"
        )
    )
    results = []
    for workers in args.workers:
        result = run_config(args, races, workers)
        print_run(result, args)
        results.append(result)
    print_comparison(results, args)


if __name__ == "__main__":
    main()
