"""The many-races benchmark's report: per configuration the sessions' latency table, the
slowest laps, where the time goes and the CPU; last, the configurations side by side and
the verdict against the target."""

from __future__ import annotations

import argparse
from collections import Counter

import psutil
from harness import console, percentile
from rich.table import Table

from sessions.measure import RunResult

TARGET_P99_MS = 200.0


def worker_cpu(r: RunResult) -> float:
    """The worker processes' CPU (user + sys) as a share of one core over the run."""
    return sum(u + s for name, u, s, _ in r.cpu if name.startswith("worker")) / r.seconds


def cell(values: list[float], q: float) -> str:
    return f"{percentile(values, q):.0f}" if values else "-"


def print_run(r: RunResult, args: argparse.Namespace) -> None:
    """Every figure of one configuration."""
    print_sessions(r, args)
    print_slowest_laps(r)
    hop = Table("where the time goes (ms, every update)", "n", "p50", "p99", "max")
    for name, vals in r.hops.items():
        hop.add_row(name, f"{len(vals):,}", cell(vals, 50), cell(vals, 99), cell(vals, 100))
    console.print(hop)
    print_cpu(r)


def print_sessions(r: RunResult, args: argparse.Namespace) -> None:
    """The lap -> strategy latency of each session, and of all of them."""
    how = "" if r.workers == 1 else f" ({args.launch})"
    table = Table(
        title=f"{r.workers} worker process(es){how}, {len(r.sessions)} races at {args.speed}x "
        "at once "
        "(lap -> strategy in ms: lap produced -> covering update RECEIVED by the reader)",
        title_justify="left",
    )
    for col in (
        "race",
        "part.",
        "leader laps with update",
        "updates",
        "laps (covered)",
        "p50",
        "p99",
        "max",
        "p99 from lap 2",
        "p99 to produced_at",
        "replay max lag s",
    ):
        table.add_column(col, justify="right")
    for s in r.sessions:
        table.add_row(
            s.name,
            str(s.partition),
            f"{s.covered}/{s.leader_laps}",
            f"{s.updates:,}",
            f"{s.laps:,} ({len(s.lap_received_ms):,})",
            cell(s.lap_received_ms, 50),
            cell(s.lap_received_ms, 99),
            cell(s.lap_received_ms, 100),
            cell(s.from_lap2_ms, 99),
            cell(s.lap_produced_ms, 99),
            f"{s.max_lag_s:.2f}",
        )
    every = [v for s in r.sessions for v in s.lap_received_ms]
    later = [v for s in r.sessions for v in s.from_lap2_ms]
    table.add_row(
        "all",
        "",
        "",
        "",
        f"{len(every):,}",
        cell(every, 50),
        cell(every, 99),
        cell(every, 100),
        cell(later, 99),
        "",
        "",
    )
    console.print(table)


def print_slowest_laps(r: RunResult) -> None:
    """The lap numbers of the slowest 1% of laps over all sessions."""
    pairs = sorted((p for s in r.sessions for p in s.lap_received), key=lambda p: -p[1])
    slow = pairs[: max(len(pairs) // 100, 1)]
    by_lap = sorted(Counter(lap for lap, _ in slow).items(), key=lambda x: (-x[1], x[0]))
    console.print(
        f"the slowest 1% of laps ({len(slow)}, >= {slow[-1][1]:.0f} ms) by lap number: "
        + ", ".join(f"L{lap} x{n}" for lap, n in by_lap)
        if slow
        else "no laps covered"
    )


def print_cpu(r: RunResult) -> None:
    """The CPU of each measured process, and how busy the whole machine was."""
    cpu = Table(
        f"CPU over the measured {r.seconds:.0f} s",
        "user s",
        "sys s",
        "% of one core",
        "waited for a CPU s",
        title_justify="left",
    )
    for name, u, s, w in r.cpu:
        cpu.add_row(name, f"{u:.1f}", f"{s:.1f}", f"{(u + s) / r.seconds:.0%}", f"{w:.1f}")
    waited = sum(w for name, _, _, w in r.cpu if name.startswith("worker"))
    cpu.add_row("workers, total", "", "", f"{worker_cpu(r):.0%}", f"{waited:.1f}")
    console.print(cpu)
    ours = sum(u + s for _, u, s, _ in r.cpu) / r.seconds
    console.print(
        f"machine: {r.machine_busy:.2f} of {psutil.cpu_count()} cores busy on average, "
        f"{ours:.2f} of them this run's processes above, {max(r.machine_busy - ours, 0):.2f} "
        "other processes (a shared machine: others' work slows the run)"
    )
    console.print(
        f"worker memory once the races were in: {r.rss_mb:,.0f} MB resident; sessions let go "
        f"of (a minute after their flag): {r.released} cached states dropped, {r.deleted} "
        "sessions' table rows deleted"
    )


def print_comparison(results: list[RunResult], args: argparse.Namespace) -> None:
    table = Table(
        title="lap -> strategy received (ms) per session, by worker processes",
        title_justify="left",
    )
    table.add_column("session")
    for r in results:
        for col in ("p50", "p99", "laps covered"):
            table.add_column(f"{r.workers}w {col}", justify="right")
    for i, s in enumerate(results[0].sessions):
        row = [s.name]
        for r in results:
            o = r.sessions[i]
            row += [
                cell(o.lap_received_ms, 50),
                cell(o.lap_received_ms, 99),
                f"{o.covered}/{o.leader_laps}",
            ]
        table.add_row(*row)
    console.print(table)
    cpu = "; ".join(f"{r.workers} worker(s): {worker_cpu(r):.0%} of one core" for r in results)
    console.print(f"workers' CPU: {cpu}")
    two = next((r for r in results if r.workers == 2), None)
    if two is None:
        return
    worst = max(two.sessions, key=lambda s: s.p99)
    uncovered = [s.name for s in two.sessions if s.covered < s.leader_laps]
    met = worst.p99 < TARGET_P99_MS and not uncovered
    verdict = "[green]MET[/]" if met else "[red]NOT MET[/]"
    differs = []
    if len(two.sessions) != 8 or str(args.speed) != "20":
        differs.append(f"{len(two.sessions)} races at {args.speed}x, not 8 at 20x")
    if args.laps > 0:
        differs.append(f"the first {args.laps} leader laps of each")
    console.print(
        f"target (2 workers: p99 lap -> strategy < {TARGET_P99_MS:.0f} ms for every session, "
        f"8 races at 20x): {verdict}; worst p99 {worst.p99:.0f} ms ({worst.name})"
        + (f"; leader laps without an update in {', '.join(uncovered)}" if uncovered else "")
        + (f" (judged on this run: {'; '.join(differs)})" if differs else "")
    )
