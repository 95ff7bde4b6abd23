"""The broker benchmark's report: every process's CPU share per interval, the broker's
against the targets (flat over the race, under 50% of a core at 20x, under 5% once nothing
flows), and how far behind each consumer group was."""

from __future__ import annotations

import argparse
import statistics

from harness import console
from rich.table import Table

from broker.meter import Row
from broker.run import RunResult

#: The broker's targets (% of one core).
RACE_MAX_20X = 50.0
AFTER_MAX = 5.0


def report(result: RunResult, args: argparse.Namespace) -> None:
    rows = result.rows
    if not rows:
        console.print("[red]no interval measured[/]")
        return
    names = list(rows[0].shares)
    table = Table(
        title=f"CPU, % of one core per {args.interval:.0f} s ({' '.join(args.race)}, "
        f"telemetry every {args.telemetry_every}, {args.speed}x)",
        title_justify="left",
    )
    for col in ("phase", "min", "s", *names, "others", "machine"):
        table.add_column(col, justify="right")
    for r in rows:
        cells = [f"{r.shares.get(n, 0.0):.1f}" for n in names]
        table.add_row(
            r.phase, str(r.index + 1), f"{r.seconds:.0f}", *cells, f"{r.others:.1f}",
            f"{r.machine:.1f}",
        )  # fmt: skip
    console.print(table)
    if result.published:
        console.print(f"replay (exit {result.replay_exit}): {result.published}")
    print_lags(result)
    verdicts(rows, args)


def print_lags(result: RunResult) -> None:
    for when, groups in result.lag.items():
        parts = []
        for group, topics in groups.items():
            behind = {t: n for t, n in topics.items() if n}
            total = sum(behind.values())
            detail = ", ".join(f"{t} {n:,}" for t, n in sorted(behind.items()))
            parts.append(f"{group} {total:,}" + (f" ({detail})" if detail else ""))
        console.print(f"events not yet committed {when}: " + "; ".join(parts))


def mean(rows: list[Row], name: str) -> float:
    return statistics.fmean(r.shares[name] for r in rows) if rows else float("nan")


def verdicts(rows: list[Row], args: argparse.Namespace) -> None:
    """The broker over the race (first and last third, the highest interval) and after."""
    race = [r for r in rows if r.phase == "race" and r.seconds >= 30]
    after = [r for r in rows if r.phase == "after"]
    if race:
        third = max(1, len(race) // 3)
        first, last = mean(race[:third], "broker"), mean(race[-third:], "broker")
        top = max(r.shares["broker"] for r in race)
        flat = last <= max(first * 1.2, first + 5.0)
        console.print(
            f"broker over the race: mean {mean(race, 'broker'):.1f}%, first third "
            f"{first:.1f}%, last third {last:.1f}%, highest interval {top:.1f}% "
            f"-> flat: {'[green]yes[/]' if flat else '[red]no[/]'} (last third within 20% or "
            "5 points of the first)"
            + (
                f"; under {RACE_MAX_20X:.0f}% at 20x: "
                + ("[green]met[/]" if top < RACE_MAX_20X else "[red]missed[/]")
                if args.speed == "20"
                else ""
            )
        )
    if after:
        top = max(r.shares["broker"] for r in after)
        console.print(
            f"broker after the flag ({len(after)} intervals): mean {mean(after, 'broker'):.1f}%, "
            f"highest {top:.1f}% -> under {AFTER_MAX:.0f}%: "
            + ("[green]met[/]" if top < AFTER_MAX else "[red]missed[/]")
        )
