"""Training the lap-time model and the circuit tables into a versioned artifact."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from strategy.artifacts import circuit_tables, save
from strategy.data import lap_files, read_laps
from strategy.laptime import anchor_frame, train, training_rows


def train_models(
    data_dir: Path,
    model_dir: Path,
    seasons: Sequence[int] = (2018, 2019, 2020, 2021, 2022, 2023),
    valid_season: int | None = 2023,
    rounds: int = 300,
    sprint: bool = True,
    threads: int = 1,
    step: Callable[[str], None] | None = None,
    progress=None,
) -> tuple[Path, dict]:
    """Fit on ``seasons`` (early stopping / metrics on ``valid_season``), write the artifact."""
    step = step or (lambda _msg: None)
    step("reading lap CSVs")
    files = lap_files(data_dir, seasons, sprint=sprint)
    laps = read_laps(files)
    step("building features")
    anchors = anchor_frame(laps)
    circuits = {c: i for i, c in enumerate(sorted(laps["circuit"].unique()))}
    train_part = anchors[anchors["season"] != valid_season] if valid_season else anchors
    valid_part = anchors[anchors["season"] == valid_season] if valid_season else None
    rows = training_rows(train_part, circuits)
    valid = training_rows(valid_part, circuits) if valid_part is not None else None
    step("training LightGBM")
    model, metrics = train(rows, circuits, valid, rounds, progress, threads)
    if valid_season:
        # Final model: the validation season joins the training data.
        full = pd.concat([rows, valid], ignore_index=True)
        model, _ = train(full, circuits, None, rounds, progress, threads)
        metrics["train_rows"] = float(len(full))
    step("fitting pit loss, SC hazard and tyre priors")
    recent = laps[(laps["season"] >= max(seasons) - 2) & ~laps["sprint"]]
    tables = circuit_tables(data_dir, recent)
    meta = {
        "data": [str(f.name) for f in files],
        "seasons": list(seasons),
        "valid_season": valid_season,
        "rounds": rounds,
        "sprint_races": bool(sprint),
        "threads": threads,
        "races": int(laps["race_id"].nunique()),
        "laps": len(laps),
        "metrics": metrics,
    }
    folder = save(model, tables, meta, model_dir)
    return folder, metrics
