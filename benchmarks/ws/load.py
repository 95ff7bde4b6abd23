"""One run of the WebSocket benchmark's load: the client processes connected while something
happens (a replay, or listening to a running gateway), with the server's CPU and memory.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time

from ws.client import Stats, client_process
from ws.report import cpu_report


def measure(
    url: str,
    n: int,
    procs: int,
    during,
    gateway_pid: int | None,
    light: bool = True,
    probes: int = 0,
    low: bool = False,
) -> tuple[Stats, dict]:
    """Connect ``n`` clients over ``procs`` processes (and ``probes`` of them in one more, at
    real-time priority), run ``during()``, merge their figures. ``low``: the clients that are
    not probes run at the lowest priority."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    ready, results, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    probes = min(probes, n) if light else 0
    rest = n - probes
    shares = [(rest // procs + (1 if i < rest % procs else 0), False) for i in range(procs)]
    if probes:
        shares.append((probes, True))
    started = time.monotonic()
    workers = [
        ctx.Process(
            target=client_process,
            args=(url, k, ready, stop, results, light, probe, low),
            daemon=True,
        )
        for k, probe in shares
        if k
    ]
    for w in workers:
        w.start()
    snapshots = sum(ready.get(timeout=300) for _ in workers)
    info = {"connect_s": time.monotonic() - started, "rss_before": float("nan")}
    if gateway_pid:
        info["rss_before"] = rss_mb(gateway_pid)
    peak = [info["rss_before"]]
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.is_set():
            if gateway_pid:
                peak[0] = max(peak[0], rss_mb(gateway_pid))
            time.sleep(1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.monotonic()
    cpu_before = cpu_by_role()
    asyncio.run(during())
    time.sleep(3)  # let the tail of the updates arrive
    info["run_s"] = time.monotonic() - t0
    info["cpu"] = cpu_report(cpu_before, cpu_by_role(), info["run_s"])
    stop.set()
    sampling.set()
    stats = Stats()
    for _ in workers:
        part = results.get(timeout=120)
        merge(stats, part)
        if part["probe"]:
            info["probes"] = merge(Stats(), part)
            info["probe_priority"] = part["priority"]
        else:
            info["client_priority"] = part["priority"]
    for w in workers:
        w.join(10)
    info["rss_peak"] = peak[0]
    _ = snapshots
    return stats, info


def merge(stats: Stats, part: dict) -> Stats:
    """Add one client process's figures to ``stats``."""
    for kind, raw in part["latency"].items():
        stats.latency[kind].frombytes(raw)
    for kind, raw in part["steps"].items():
        stats.steps[kind].frombytes(raw)
    stats.timeline.frombytes(part["timeline"])
    stats.own.frombytes(part["own"])
    stats.read.frombytes(part["read"])
    stats.read_own.frombytes(part["read_own"])
    stats.delivered += part["delivered"]
    stats.snapshots += part["snapshots"]
    stats.out_of_order += part["out_of_order"]
    stats.merged += part["merged"]
    for k, v in part["closed"].items():
        stats.closed[k] += v
    return stats


def cpu_by_role() -> dict[int, tuple[str, float]]:
    """CPU seconds used so far by every process of the run, labelled by its role."""
    import psutil

    me = os.getpid()
    roles = (
        ("pitwall.cli serve", "gateway"),
        ("pitwall.cli worker", "worker"),
        ("pitwall.cli sink", "sink"),
        ("tansu", "broker"),
        ("postgres", "postgres"),
        ("valkey", "redis"),
        ("redis-server", "redis"),
    )
    out = {}
    for proc in psutil.process_iter(["pid", "ppid", "cmdline", "name", "cpu_times"]):
        info = proc.info
        text = " ".join(info["cmdline"] or [info["name"] or ""])
        role = next((r for needle, r in roles if needle in text), None)
        if role is None and info["pid"] == me:
            role = "replay (this process)"
        elif role is None and info["ppid"] == me and "multiprocessing" in text:
            role = "clients"
        elif role is None and "pitwall.cli" in text:  # children of sink / serve
            parent = " ".join(psutil.Process(info["ppid"]).cmdline())
            role = next((r for needle, r in roles if needle in parent), None)
        if role and info["cpu_times"]:
            t = info["cpu_times"]
            out[info["pid"]] = (role, t.user + t.system)
    return out


def rss_mb(pid: int) -> float:
    import psutil

    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
        return sum(p.memory_info().rss for p in procs) / 2**20
    except psutil.Error:
        return float("nan")
