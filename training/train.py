"""Training the race model into a versioned artifact: the lap-time model and the tables the
live engine reads beside it.

``train_models`` fits on whole seasons: the lap-time model (metrics on a validation season,
then folded in), the Monte Carlo's spread from that validation fit's errors
(``training.spread``), the compound priors, the tyre-life priors (``training.tyre_life``), what
teams ran at each circuit (``training.plan_prior``), the fitted hazards, and how far win
chances lean towards the settled order (``training.win_blend``, on the validation season),
every table as known before the first race after the seasons.
``add_races`` lets the newest artifact learn races that finished since (more boosting rounds,
the tyre lives refitted with them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from strategy.artifacts import models_from_tables
from training.artifacts import circuit_tables, save
from training.hazards import fit_hazards
from training.history import ergast_tables, lap_files, read_laps
from training.laptime import (
    EXTEND_ROUNDS,
    anchor_table,
    circuit_codes,
    extend_model,
    train,
    training_rows,
)
from training.plan_prior import fit_plan_prior
from training.spread import fit_spread
from training.tyre_life import fit_tyre_life
from training.win_blend import fit_settled_lean

Step = Callable[[str], None]


def _fit_laptime(
    laps: pd.DataFrame, valid_season: int | None, rounds: int, progress, threads: int, step: Step
) -> tuple[object, dict[str, float], dict | None, object | None]:
    """The lap-time model on every season of ``laps``; with ``valid_season``, metrics and the
    learned spread from a model fitted without it first (returned too, for the lean)."""
    circuits = circuit_codes(laps)
    step("building features")
    anchors = anchor_table(laps, circuits)
    train_part = anchors[anchors["season"] != valid_season] if valid_season else anchors
    rows = training_rows(train_part)
    metrics: dict[str, float] = {}
    spread = valid_model = None
    if valid_season:
        step("training LightGBM (validation)")
        held = anchors[anchors["season"] == valid_season]
        valid = training_rows(held)
        valid_model, metrics = train(rows, circuits, valid, rounds, progress, threads)
        step("learning the Monte Carlo's spread")
        spread = fit_spread(valid_model, held[~held["race_id"].str.endswith("-sprint")])
        rows = pd.concat([rows, valid], ignore_index=True)  # the final model sees it too
    step("training LightGBM")
    model, _ = train(rows, circuits, None, rounds, progress, threads)
    metrics["train_rows"] = float(len(rows))
    return model, metrics, spread, valid_model


def train_models(
    data_dir: Path,
    model_dir: Path,
    seasons: Sequence[int] = (2018, 2019, 2020, 2021, 2022, 2023),
    valid_season: int | None = 2023,
    rounds: int = 400,
    sprint: bool = True,
    threads: int = 1,
    step: Step | None = None,
    progress=None,
    as_of: tuple[int, int] | None = None,
) -> tuple[Path, dict]:
    """Fit on ``seasons`` (metrics and the spread on ``valid_season``), write the artifact.
    ``as_of``: (season, round) the fitted tables are known before (default: the first race
    after ``seasons``)."""
    step = step or (lambda _msg: None)
    step("reading lap CSVs")
    files = lap_files(data_dir, seasons, sprint=sprint)
    laps = read_laps(files)
    model, metrics, spread, valid_model = _fit_laptime(
        laps, valid_season, rounds, progress, threads, step
    )
    step("fitting compound priors and tyre lives")
    recent = laps[(laps["season"] >= max(seasons) - 2) & ~laps["sprint"]]
    tables = circuit_tables(data_dir, recent)
    next_season = as_of[0] if as_of else max(seasons) + 1
    tables["tyre_life"] = fit_tyre_life(laps, next_season).to_dict()
    tables["plan_prior"] = fit_plan_prior(laps, next_season).to_dict()
    if spread:
        tables["spread"] = spread
    if len(set(seasons)) >= 2:  # each model is chosen leaving one season out
        ergast = ergast_tables(data_dir)
        fitted = fit_hazards(laps, ergast, seasons, as_of, step=lambda m: step(f"fitting {m}"))
        tables["fitted"] = fitted.to_dict()
    if valid_model is not None:
        step("measuring the lean towards the settled order")
        held = laps[(laps["season"] == valid_season) & ~laps["sprint"]]
        lean = fit_settled_lean(models_from_tables(tables, laptime=valid_model), held, data_dir)
        tables["settled_lean"] = lean
    meta = {
        "data": [str(f.name) for f in files],
        "seasons": list(seasons),
        "races_added": [],
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


def add_races(
    models_dir: Path,
    data_dir: Path,
    laps: pd.DataFrame,
    rounds: int = EXTEND_ROUNDS,
    threads: int = 1,
    step: Step | None = None,
) -> tuple[Path, list[str]]:
    """A new artifact from the newest one in ``models_dir`` that has also learnt ``laps``
    (finished races, e.g. this season's so far): more boosting rounds of the lap-time model,
    and the tyre lives refitted with them."""
    from strategy.artifacts import latest_artifact, load_models

    step = step or (lambda _msg: None)
    if latest_artifact(models_dir) is None:
        raise FileNotFoundError(f"no trained model in {models_dir}: run `pitwall train` first")
    models = load_models(models_dir)
    assert models.laptime is not None
    races = sorted(laps["race_id"].unique())
    step(f"learning {len(races)} races")
    laptime = extend_model(models.laptime, laps, rounds, threads)
    step("refitting the tyre lives")
    meta = dict(models.metadata)
    seasons = list(meta.get("seasons", []))
    history = read_laps(lap_files(data_dir, seasons)) if seasons else laps.iloc[0:0]
    both = pd.concat([history, laps], ignore_index=True)
    tables = dict(meta["tables"])
    upcoming = int(both["season"].max()) + 1
    tables["tyre_life"] = fit_tyre_life(both, upcoming).to_dict()
    tables["plan_prior"] = fit_plan_prior(both, upcoming).to_dict()
    meta["races_added"] = sorted({*meta.get("races_added", []), *races})
    meta.pop("tables", None)
    for key in ("version", "features", "circuits"):
        meta.pop(key, None)
    return save(laptime, tables, meta, models_dir), races
