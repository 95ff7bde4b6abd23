"""Benchmark: pre-race win/podium chances for every driver of a race, once the model is loaded.

Reads the Ergast tables, builds the feature state up to the last race with results and
trains both models (before and after qualifying) once, then times, over many runs:

* ``features + predict``: the race's feature rows from the builder's state (ratings, form,
  circuit history, grid) and both models' calibrated chances, what a fresh prediction costs;
* ``predict only``: the chances from rows already built.

Target: under 100 ms for all drivers of a race. Prints median, p95 and max in ms.

    python benchmarks/bench_predict.py [--ergast DIR] [--runs 200] [--season 2024 --round 10]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ergast", type=Path, default=None, help="Ergast CSV directory")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--season", type=int, default=2024, help="race to predict: season")
    parser.add_argument("--round", type=int, default=10, help="race to predict: round")
    args = parser.parse_args()

    from core.settings import get_settings
    from prerace.features import STREET_CIRCUITS, build_features
    from prerace.history import History
    from prerace.ingest.csv_source import read_directory
    from prerace.model import ModelConfig, WinnerModel
    from prerace.race_inputs import entrants_of, quali_seconds, weekend_weather

    directory = args.ergast or get_settings().data_dir / "ergast" / "data"
    full = History.from_tables(read_directory(directory))
    races = full.races
    target = races[(races["season"] == args.season) & (races["round"] == args.round)]
    if target.empty:
        parser.error(f"no race {args.season} round {args.round} in {directory}")
    race_id = int(target["race_id"].iloc[0])
    history = full.before(race_id, keep_grid=True)  # the race itself: qualifying known

    started = time.perf_counter()
    table = build_features(history)
    done = table.rows[table.rows["win"].notna()]
    models = {m: WinnerModel(ModelConfig(moment=m)).fit(done) for m in ("pre", "post")}
    setup = time.perf_counter() - started
    race = history.ordered_races().set_index("race_id").loc[race_id]
    race = {**race.to_dict(), "race_id": race_id}
    builder = table.builder
    quali = quali_seconds(history.qualifying[history.qualifying["race_id"] == race_id])
    circuits = history.circuits
    street = bool(
        circuits.loc[circuits["circuit_id"] == race["circuit_id"], "circuit_ref"]
        .isin(STREET_CIRCUITS)
        .any()
    )

    def fresh() -> None:
        entrants = entrants_of(history, race_id, builder.lineup)
        rows = builder.features(race, entrants, quali, weekend_weather(None), street)
        for model in models.values():
            model.predict(rows)

    rows = table.rows[table.rows["race_id"] == race_id]

    def predict_only() -> None:
        for model in models.values():
            model.predict(rows)

    print(
        f"{args.season} round {args.round} ({race['name']}), {len(rows)} drivers; "
        f"features to the race and two models trained in {setup:.1f} s"
    )
    for name, fn in (("features + predict", fresh), ("predict only", predict_only)):
        for _ in range(5):
            fn()  # warm-up
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1000)
        print(
            f"{name:20} both moments, all drivers: median {statistics.median(times):.1f} ms, "
            f"p95 {np.percentile(times, 95):.1f} ms, max {max(times):.1f} ms "
            f"({args.runs} runs; target < 100 ms)"
        )


if __name__ == "__main__":
    main()
