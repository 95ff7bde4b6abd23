"""The WebSocket benchmark's report: latency per kind, where the time goes, the slowest 1%,
the verdict against the target, and the gateway's own view from its metrics.
"""

from __future__ import annotations

import os
from array import array
from collections import defaultdict

from harness import console, percentile
from rich.table import Table

from ws.client import SEGMENTS, STEP_WIDTH, Stats


def gateway_histograms(base: str) -> str:
    """The gateway's own view from /metrics: Redis publish -> gateway, and the time to hand a
    burst to every client; quantiles as the upper bound of their histogram bucket."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    try:
        text = httpx.get(f"{base}/metrics", timeout=10).text
    except httpx.HTTPError as exc:
        return f"gateway /metrics unavailable: {exc}"
    wanted = {
        "pitwall_ws_pubsub_latency_seconds": "Redis publish -> gateway",
        "pitwall_ws_fanout_seconds": "one burst to every client",
    }
    out = []
    for family in text_string_to_metric_families(text):
        if family.name == "pitwall_ws_frames_sent":
            paths = {x.labels["path"]: x.value for x in family.samples if x.name.endswith("_total")}
            frames = sum(paths.values()) or 1
            out.append(
                "frames written straight to the socket "
                f"{paths.get('direct', 0) / frames:.1%}, through a client's queue "
                f"{paths.get('queued', 0) / frames:.1%}"
            )
        if family.name not in wanted:
            continue
        buckets = sorted(
            (float(s.labels["le"]), s.value) for s in family.samples if s.name.endswith("_bucket")
        )
        total = buckets[-1][1] if buckets else 0

        def q(p: float, buckets=buckets, total=total) -> str:
            for le, cum in buckets:
                if cum >= p * total:
                    return f"<= {le * 1000:g}"
            return "?"

        out.append(f"{wanted[family.name]}: p50 {q(0.5)} ms, p99 {q(0.99)} ms ({total:,.0f})")
    return "gateway's view: " + "; ".join(out)


def cpu_report(before: dict, after: dict, seconds: float) -> str:
    used: dict[str, float] = defaultdict(float)
    for pid, (role, total) in after.items():
        used[role] += total - before.get(pid, (role, 0.0))[1]
    parts = [f"{role} {t / seconds:.0%}" for role, t in sorted(used.items(), key=lambda x: -x[1])]
    total = sum(used.values()) / seconds
    return (
        f"CPU during the run (share of one core): {', '.join(parts)}; "
        f"total {total:.0%} of {os.cpu_count()} cores"
    )


def latency_table(stats: Stats, title: str) -> array:
    """Print the latency per kind and overall; returns every latency."""
    table = Table(title=title)
    for col in ("kind", "messages", "p50 ms", "p95 ms", "p99 ms", "max ms"):
        table.add_column(col, justify="right")
    every = array("d")
    for kind, values in sorted(stats.latency.items()):
        every.extend(values)
        table.add_row(
            kind,
            f"{len(values):,}",
            *(f"{percentile(values, q):.1f}" for q in (50, 95, 99)),
            f"{max(values):.1f}",
        )
    if every:
        table.add_row(
            "[bold]all",
            f"[bold]{len(every):,}",
            *(f"[bold]{percentile(every, q):.1f}" for q in (50, 95, 99)),
            f"[bold]{max(every):.1f}",
        )
    console.print(table)
    return every


def report(stats: Stats, info: dict, n: int) -> None:
    """Print the figures; with probes, the breakdowns and the verdict use theirs (exact)."""
    every = latency_table(stats, f"WebSocket fan-out: {n} clients")
    probes: Stats | None = info.get("probes")
    if probes is not None and not probes.latency:
        probes = None  # no probe got an update: nothing exact to report
    basis, whose = (stats, "all") if probes is None else (probes, "probe clients")
    basis_every = every
    if probes is not None:
        basis_every = latency_table(
            probes,
            f"The {probes.snapshots} probe clients ({info['probe_priority']}: each frame read "
            "on arrival)",
        )
    if basis.steps:
        steps_table(basis, whose)
    if basis.steps and basis_every:
        slowest(basis, percentile(basis_every, 99), whose)
    if len(basis.timeline) > 2:
        p99_by_window(basis, whose)
    delivery(stats, info, n)
    latency_lines(stats, probes, every, basis_every, info, n)


def steps_table(basis: Stats, whose: str) -> None:
    """p50 / p99 of each step of each kind of message."""
    split = Table(title=f"Where the time goes ({whose}): p50 / p99 ms of each step")
    split.add_column("kind", justify="right")
    for title in SEGMENTS.values():
        split.add_column(title, justify="right")
    for kind in sorted(basis.latency):
        cells = []
        for seg in SEGMENTS:
            values = step_values(basis, kind, seg)
            cells.append(
                f"{percentile(values, 50):.1f} / {percentile(values, 99):.1f}" if values else "-"
            )
        split.add_row(kind, *cells)
    console.print(split)


def p99_by_window(basis: Stats, whose: str) -> None:
    """The p99 latency of each 10 s of the run."""
    pairs = list(zip(basis.timeline[::2], basis.timeline[1::2], strict=True))
    start = min(t for t, _ in pairs)
    windows: dict[int, list[float]] = defaultdict(list)
    for t, ms in pairs:
        windows[int((t - start) // 10)].append(ms)
    console.print(
        f"p99 by 10 s of the run ({whose}): "
        + "  ".join(f"{k * 10}s:{percentile(v, 99):.0f}" for k, v in sorted(windows.items()))
    )


def delivery(stats: Stats, info: dict, n: int) -> None:
    """Snapshots, messages delivered, order, early closes, CPU and the gateway's memory."""
    console.print(
        f"clients with a snapshot: {stats.snapshots}/{n}; connect time {info['connect_s']:.1f} s; "
        f"messages delivered: {stats.delivered:,} ({stats.delivered / max(n, 1):,.0f} per client) "
        f"in {info['run_s']:.1f} s ({stats.delivered / max(info['run_s'], 1e-9):,.0f}/s); "
        f"out of order: {stats.out_of_order}; "
        f"closed early: {dict(stats.closed) or 0}"
    )
    console.print(info["cpu"])
    console.print(
        f"gateway RSS: {info['rss_before']:.0f} MB with clients connected, "
        f"peak {info['rss_peak']:.0f} MB"
    )


def latency_lines(
    stats: Stats, probes: Stats | None, every: array, basis_every: array, info: dict, n: int
) -> None:
    """The p99 of all clients and, with probes, of the probes, with the verdict."""
    received = "reached the client's socket (kernel receive time)" if stats.read else "received"
    p99 = percentile(every, 99) if every else float("nan")
    if stats.read:
        merged = f"{stats.merged / max(len(stats.read), 1):.1%}"
        if probes is not None:
            merged += f" (probe clients: {probes.merged / max(len(probes.read), 1):.1%})"
        console.print(
            "update frames that came in one read with others (written together, or merged in "
            f"the socket while unread): {merged}"
        )
    console.print(
        f"all clients ({info.get('client_priority', '')}), p99 produced_at -> {received}: "
        f"{p99:.1f} ms ("
        + (
            "an upper bound: a frame that arrives while an earlier one is unread merges with "
            "it in the socket and both take the later arrival time"
            if probes is not None
            else verdict(p99)
        )
        + "); derived events timed from the source event that triggered them"
    )
    if stats.own:
        console.print(
            "  from each event's own produced_at (derived events: the worker's output): "
            f"p50 {percentile(stats.own, 50):.1f} / p99 {percentile(stats.own, 99):.1f} ms"
        )
    if stats.read:
        console.print(
            "  to when the client's process read it (it shares the 2 cores with the server "
            f"and the other clients): p50 {percentile(stats.read, 50):.1f} / p99 "
            f"{percentile(stats.read, 99):.1f} ms; from each event's own produced_at: p50 "
            f"{percentile(stats.read_own, 50):.1f} / p99 {percentile(stats.read_own, 99):.1f} ms"
        )
    if probes is not None:
        p99 = percentile(basis_every, 99)
        console.print(
            f"probe clients (exact: each frame keeps its own arrival time; a random sample of "
            f"the {n}), p99 produced_at -> reached the client's socket: {p99:.1f} ms "
            f"({verdict(p99)}); from each event's own produced_at: p50 "
            f"{percentile(probes.own, 50):.1f} / p99 {percentile(probes.own, 99):.1f} ms"
        )


def verdict(p99: float) -> str:
    return "target <= 50 ms: " + ("[green]met[/]" if p99 <= 50 else "[red]missed[/]")


def step_values(stats: Stats, kind: str, segment: str) -> list[float]:
    """The ms that ``kind``'s messages spent in ``segment`` (those that have the step)."""
    flat = stats.steps.get(kind, ())
    return present(flat[1 + list(SEGMENTS).index(segment) :: STEP_WIDTH])


def present(values) -> list[float]:
    """``values`` without the NaNs (NaN: not a step of that message)."""
    return [v for v in values if v == v]


def slowest(stats: Stats, threshold: float, whose: str) -> None:
    """Where the slowest 1% of messages (at or over the overall p99) spent their time."""
    table = Table(title=f"The slowest 1% ({whose}, >= {threshold:.1f} ms): mean ms of each step")
    for col in ("kind", "messages", "latency", *SEGMENTS.values()):
        table.add_column(col, justify="right")
    for kind, flat in sorted(stats.steps.items()):
        rows = [
            flat[i : i + STEP_WIDTH]
            for i in range(0, len(flat), STEP_WIDTH)
            if flat[i] >= threshold
        ]
        if not rows:
            continue
        cells = []
        for col in range(STEP_WIDTH):
            values = present(r[col] for r in rows)
            cells.append(f"{sum(values) / len(values):.1f}" if values else "-")
        table.add_row(kind, f"{len(rows):,}", *cells)
    console.print(table)
