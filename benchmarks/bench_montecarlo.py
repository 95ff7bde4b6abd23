"""Benchmark: full-field Monte Carlo races per second, from lap 1 of a real race.

The field is the 2023 Monaco grid as the lap data has it after lap 1 (20 cars, 78 laps,
positions, gaps, tyres and the drivers' real clean-lap pace), each car on its recommended
plan. Prints the median wall time of 10,000 races over several warm runs, then the warm
latency of ``recommend()`` (whole field, default n_sims) at half distance of the same race:
with every car's pace recomputed (a state seen for the first time), and as the stream
worker calls it, once per car crossing the line over ten laps with the session's memo kept
(only the car that ran a lap is recomputed).

    python benchmarks/bench_montecarlo.py [--races 10000] [--runs 7] [--event Monaco]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numba


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--races", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--year", type=int, default=2023)
    parser.add_argument("--event", default="Monaco")
    parser.add_argument("--recommend-runs", type=int, default=100)
    args = parser.parse_args()

    from core.settings import get_settings
    from strategy.artifacts import load_models
    from strategy.circuits import circuit_slug
    from strategy.decisions import recommend
    from strategy.fuel import fuel_corrected
    from strategy.plan_table import plans_for
    from strategy.simulation import simulate_state
    from training.history import lap_files, read_laps
    from training.race_states import RaceTimeline, state_of

    settings = get_settings()
    laps = read_laps(lap_files(settings.data_dir, [args.year]))
    laps = laps[laps["circuit"] == circuit_slug(args.event)]
    race_id = laps["race_id"].iloc[0]
    # Lap 1 has no clean lap yet: take each driver's pace from his green laps up to lap 20
    # (the simulator on its own, without the lap-time model's curves).
    # the field once every car has run lap 1 (the last one's crossing)
    state = RaceTimeline(laps).state_at(float(laps[laps["lap"] == 1]["time"].max()))
    state.history = None
    early = laps[(laps["lap"].between(2, 20)) & laps["green"] & ~laps["pit_in"] & ~laps["pit_out"]]
    fc = early.apply(lambda r: fuel_corrected(r.lap_time, r.lap, r.laps_total), axis=1)
    pace = fc.groupby(early["driver"]).median().dropna()
    for d in state.drivers:
        d.pace = float(pace.get(d.driver, 0)) or None
    models = load_models(settings.model_dir)
    plans = [p.best[1] for p in plans_for(state, models)]
    simulate_state(state, models, plans, n_sims=256, seed=0)  # compile / load the kernel
    times, cpu = [], []
    for run in range(args.runs):
        t, c = time.perf_counter(), time.process_time()
        result = simulate_state(state, models, plans, n_sims=args.races, seed=run + 1)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    med = statistics.median(times)
    laps_left = state.laps_total - state.lap
    print(f"race: {race_id}, {len(state.drivers)} cars, laps {state.lap + 1}-{state.laps_total}")
    print(f"threads: {numba.get_num_threads()}, model {models.version}")
    print(f"runs (ms per {args.races:,} races): " + ", ".join(f"{t * 1000:.1f}" for t in times))
    print(
        f"median {med * 1000:.1f} ms per {args.races:,} full-field races = "
        f"{args.races / med:,.0f} races/s "
        f"({args.races * len(state.drivers) * laps_left / med / 1e6:,.0f} M car-laps/s)"
    )
    print(
        f"CPU time per {args.races:,} races (all threads): median "
        f"{statistics.median(cpu) * 1000:.1f} ms (wall time on an idle machine is about this "
        f"divided by the threads)"
    )
    win = result.win_prob()
    top = sorted(zip(state.running(), win, strict=True), key=lambda x: -x[1])[:3]
    print("win probability: " + ", ".join(f"{d.driver} {p:.1%}" for d, p in top))
    # The decision engine as the stream worker calls it, on a mid-race state of the same race.
    mid = state_of(laps, state.laps_total // 2)
    recommend(mid, models, seed=0)
    lat = []
    for run in range(args.recommend_runs):
        t = time.perf_counter()
        recommend(mid, models, seed=run)
        lat.append(time.perf_counter() - t)
    lat.sort()
    print(
        f"recommend() lap {mid.lap}, {len(mid.running())} cars, default n_sims, every car "
        f"recomputed: median {statistics.median(lat) * 1000:.2f} ms, "
        f"p90 {lat[int(len(lat) * 0.9)] * 1000:.2f} ms over {len(lat)} warm calls"
    )
    _per_crossing(laps, models, mid.lap)


def _per_crossing(laps, models, first_lap: int, laps_run: int = 10) -> None:
    """``recommend()`` at every car's crossing of the line over ``laps_run`` laps, each state
    carrying the session's memo as the stream worker's do."""
    from strategy.decisions import recommend
    from strategy.pace import PaceMemo
    from training.race_states import RaceTimeline

    timeline = RaceTimeline(laps)
    memo = PaceMemo()
    rows = timeline.crossings
    window = rows[rows["lap"].between(first_lap, first_lap + laps_run - 1)]
    lat = []
    for k, t in enumerate(window["time"]):
        state = timeline.state_at(float(t))
        if state is None:
            continue
        state.memo = memo
        started = time.perf_counter()
        recommend(state, models, seed=k)
        lat.append(time.perf_counter() - started)
    lat.sort()
    print(
        f"recommend() at each of {len(lat)} crossings of laps {first_lap}-"
        f"{first_lap + laps_run - 1} (the session's memo kept, as the worker calls it): "
        f"median {statistics.median(lat) * 1000:.2f} ms, "
        f"p90 {lat[int(len(lat) * 0.9)] * 1000:.2f} ms"
    )


if __name__ == "__main__":
    main()
