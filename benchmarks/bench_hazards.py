"""Benchmark: the fitted hazards as the decision engine calls them, every car every lap.

Fits the models on two seasons with one setting each (the figures are about call cost, not
quality: ``pitwall hazards evaluate`` measures that), then times a lap's worth of calls for a
20-car field: one SC/VSC probability, and per car a retirement probability, a pit loss, an
undercut and an overcut probability. Prints the median wall time per call and per lap.

    python benchmarks/bench_hazards.py [--laps 2000] [--seasons 2022,2023]
"""

from __future__ import annotations

import argparse
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--laps", type=int, default=2000, help="laps of calls to time")
    parser.add_argument("--seasons", default="2022,2023")
    args = parser.parse_args()

    from core.settings import get_settings
    from strategy.hazards import (
        dnf_probability,
        overcut_probability,
        pit_loss,
        sc_vsc_probability,
        undercut_probability,
    )
    from training.hazards import fit_hazards
    from training.history import ergast_tables, lap_files, read_laps

    settings = get_settings()
    seasons = [int(s) for s in args.seasons.split(",")]
    laps = read_laps(lap_files(settings.data_dir, seasons))
    one = {
        "sc": {"prior": (800.0,), "window": (2,), "C": (0.3,)},
        "retirement": {"circuit_prior": (3000.0,), "team_prior": (1500.0,), "C": (1.0,)},
        "pit_loss": {"seasons": (2,), "prior": (10.0,), "df": (4.0,)},
        "undercut": {"C": (0.3,), "calibration": ("isotonic",)},
    }
    started = time.perf_counter()
    models = fit_hazards(laps, ergast_tables(settings.data_dir), seasons, grids=one)
    print(f"fitted on {seasons} in {time.perf_counter() - started:.1f} s")
    teams = sorted(laps["team"].unique())[:10] * 2
    circuit = "Monaco Grand Prix"
    calls = {
        "sc_vsc_probability": lambda i: sc_vsc_probability(models, circuit, i % 78, 0.0, 1.0),
        "dnf_probability": lambda i: dnf_probability(models, teams[i % 20], circuit, i % 78),
        "pit_loss": lambda i: pit_loss(models, circuit, "sc" if i % 7 == 0 else "green"),
        "undercut_probability": lambda i: undercut_probability(
            models, 0.1 * (i % 50), 12.0, 1.0, -0.3, circuit
        ),
        "overcut_probability": lambda i: overcut_probability(
            models, 0.1 * (i % 50), 12.0, 1.0, 0.1, circuit
        ),
    }
    per_call = {}
    for name, fn in calls.items():
        runs = []
        for _ in range(5):
            t = time.perf_counter()
            for i in range(args.laps):
                fn(i)
            runs.append((time.perf_counter() - t) / args.laps)
        per_call[name] = statistics.median(runs)
        print(f"{name:22s} {per_call[name] * 1e6:7.2f} µs per call")
    lap = per_call["sc_vsc_probability"] + 20 * sum(
        v for k, v in per_call.items() if k != "sc_vsc_probability"
    )
    print(f"one lap, 20 cars (1 SC/VSC + 20 x the four per-car calls): {lap * 1e6:.0f} µs")


if __name__ == "__main__":
    main()
