"""Training the lap-time model and the circuit tables into a versioned artifact.

``train_models`` fits on whole seasons (metrics on a validation season, then folded in);
The last step fits how far the simulated win chances move towards "the leader wins"
(``strategy.calibration.leader_blend``): a model trained without the last season replays it
lap by lap, and the weight with the lowest win Brier on those laps is kept.
``extend_models`` adds races that finished since (a new regulation year changes the tyres):
more boosting rounds on their rows, on top of the trained model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from strategy.artifacts import models_from_tables
from training.artifacts import circuit_tables, save
from training.backtest import win_rows
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
from training.wear import fit_wear_scale

WEAR_SEASONS = 1  # the latest seasons the teams' stops are learnt from (tyres change)


def train_models(
    data_dir: Path,
    model_dir: Path,
    seasons: Sequence[int] = (2018, 2019, 2020, 2021, 2022, 2023),
    valid_season: int | None = 2023,
    rounds: int = 400,
    sprint: bool = True,
    threads: int = 1,
    step: Callable[[str], None] | None = None,
    progress=None,
    win_blend: bool = True,
    as_of: tuple[int, int] | None = None,
) -> tuple[Path, dict]:
    """Fit on ``seasons`` (metrics on ``valid_season``), write the artifact. ``win_blend``:
    fit the win-chance blend too (two or more seasons; it trains a second model). ``as_of``:
    (season, round) the fitted tables are known before (default: the first race after
    ``seasons``)."""
    step = step or (lambda _msg: None)
    step("reading lap CSVs")
    files = lap_files(data_dir, seasons, sprint=sprint)
    laps = read_laps(files)
    circuits = circuit_codes(laps)
    step("building features")
    anchors = anchor_table(laps, circuits)
    train_part = anchors[anchors["season"] != valid_season] if valid_season else anchors
    rows = training_rows(train_part)
    metrics: dict[str, float] = {}
    if valid_season:
        step("training LightGBM (validation)")
        valid = training_rows(anchors[anchors["season"] == valid_season])
        _, metrics = train(rows, circuits, valid, rounds, progress, threads)
        rows = pd.concat([rows, valid], ignore_index=True)  # the final model sees it too
    step("training LightGBM")
    model, _ = train(rows, circuits, None, rounds, progress, threads)
    metrics["train_rows"] = float(len(rows))
    step("fitting pit loss, SC hazard and tyre priors")
    recent = laps[(laps["season"] >= max(seasons) - 2) & ~laps["sprint"]]
    tables = circuit_tables(data_dir, recent)
    if len(set(seasons)) >= 2:  # each model is chosen leaving one season out
        ergast = ergast_tables(data_dir)
        fitted = fit_hazards(laps, ergast, seasons, as_of, step=lambda m: step(f"fitting {m}"))
        tables["fitted"] = fitted.to_dict()
    step("fitting the tyre wear the teams' stops reveal")
    era = laps[(laps["season"] >= max(seasons) - WEAR_SEASONS + 1) & ~laps["sprint"]]
    tables["wear_scale"] = fit_wear_scale(era, models_from_tables(tables))
    if win_blend and len(set(seasons)) >= 2:
        blend = fit_win_blend(data_dir, seasons, rounds, sprint, threads, step)
        tables["win_blend"] = blend
        metrics["win_blend_weight"] = blend["weight"]
        for k in ("brier", "brier_blended", "brier_leader"):
            metrics[f"win_{k}_{blend['season']}"] = blend[k]
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


def fit_win_blend(
    data_dir: Path,
    seasons: Sequence[int],
    rounds: int,
    sprint: bool,
    threads: int,
    step: Callable[[str], None],
    n_sims: int = 500,
) -> dict:
    """The ``leader_blend`` weight from the last of ``seasons``, replayed lap by lap by a model
    trained the same way on the others, with the win Brier of that replay before and after
    it and of "the leader wins"."""
    import tempfile

    from strategy.artifacts import load_models
    from strategy.calibration import brier, fit_leader_blend, group_weights

    held = max(seasons)
    before = sorted(s for s in set(seasons) if s != held)
    with tempfile.TemporaryDirectory() as tmp:
        train_models(data_dir, Path(tmp), before, valid_season=None, rounds=rounds,
                     sprint=sprint, threads=threads, step=lambda m: step(f"without {held}: {m}"),
                     win_blend=False)  # fmt: skip
        models = load_models(Path(tmp))
    laps = read_laps(lap_files(data_dir, [held]))
    rows = win_rows(laps, models, data_dir, n_sims, lambda r: step(f"replaying {r}"))
    weight = fit_leader_blend(rows["p"], rows["leader"], rows["won"], rows["key"])

    per_lap = group_weights(rows["key"])

    def brier_per_lap(p: pd.Series) -> float:
        return brier(p, rows["won"], per_lap)

    lead = rows["leader"].astype(float)
    blended = (1 - weight) * rows["p"] + weight * lead  # leader_blend, one lap's chances sum to 1
    return {
        "weight": weight,
        "season": held,
        "trained_on": before,
        "races": int(laps["race_id"].nunique()),
        "laps": int(rows["key"].nunique()),
        "brier": brier_per_lap(rows["p"]),
        "brier_blended": brier_per_lap(blended),
        "brier_leader": brier_per_lap(lead),
        "n_sims": n_sims,
    }


def add_races(
    models_dir: Path,
    data_dir: Path,
    laps: pd.DataFrame,
    rounds: int = EXTEND_ROUNDS,
    threads: int = 1,
    step: Callable[[str], None] | None = None,
) -> tuple[Path, list[str]]:
    """A new artifact from the newest one in ``models_dir`` that has also learnt ``laps``
    (finished races, e.g. this season's so far): more boosting rounds of the lap-time model,
    and the teams' wear refitted on the latest training season with them."""
    from dataclasses import replace

    from strategy.artifacts import latest_artifact, load_models
    from training.artifacts import save

    step = step or (lambda _msg: None)
    folder = latest_artifact(models_dir)
    if folder is None:
        raise FileNotFoundError(f"no trained model in {models_dir}: run `pitwall train` first")
    models = load_models(models_dir)
    assert models.laptime is not None
    races = sorted(laps["race_id"].unique())
    step(f"learning {len(races)} races")
    laptime = extend_model(models.laptime, laps, rounds, threads)
    step("refitting the tyre wear the teams' stops reveal")
    meta = dict(models.metadata)
    latest = max(meta.get("seasons", [])) if meta.get("seasons") else None
    era = read_laps(lap_files(data_dir, [latest])) if latest else laps.iloc[0:0]
    dry = pd.concat([era, laps], ignore_index=True)
    tables = dict(meta["tables"])
    tables["wear_scale"] = fit_wear_scale(dry[~dry["sprint"]], replace(models, laptime=None))
    meta["races_added"] = sorted({*meta.get("races_added", []), *races})
    meta.pop("tables", None)
    for key in ("version", "features", "circuits"):
        meta.pop(key, None)
    return save(laptime, tables, meta, models_dir), races
