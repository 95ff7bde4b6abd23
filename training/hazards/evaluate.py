"""Every fitted hazard beside its baselines on held-out seasons, computed in one run.

``evaluate`` fits the models on the training seasons (or takes fitted ones) and scores them and
their baselines on the test seasons, which no fit and no choice of features or
hyper-parameters saw:

- SC and VSC start per leader lap (lap CSVs): log-loss and Brier of the model, of the engine's
  per-circuit constant (``training.hazards.sc_rates.hazards`` on Ergast's history up to the last
  training season) and of the all-circuit constant of the training laps;
- retirements per car and lap (Ergast): the model, the engine's ``DNF_PER_LAP`` and the
  training rate;
- pit loss per stop (lap CSVs): MAE and mean log-likelihood of the model's distribution and of
  the engine's point estimates (green median per circuit as ``strategy.artifacts`` builds it,
  times ``SC_LOSS_FACTOR`` of ``strategy.decisions``) with one spread per status fitted on
  the training stops, in the same Student-t family;
- undercut and overcut success: Brier, log-loss, reliability bins and ECE of the model, of the
  engine's fixed formula (undercut: ``phi(fresh_gain - gap)`` as ``recommend()`` has it) and of
  the training success rate.

Every baseline's log-loss is set against the model's with a 95% interval from resampling the
test races (``calibration.bootstrap_difference``): a held-out season has few safety cars and
retirements, and the interval says how much of a difference that luck allows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from strategy.artifacts import DNF_PER_LAP, SC_LOSS_FACTOR, RaceModels
from strategy.calibration import bootstrap_difference, reliability
from strategy.compounds import COMPOUND_INDEX
from strategy.hazards import HazardModels
from strategy.hazards.pit_loss import t_logpdf
from strategy.plan_table import OUT_LAP_PENALTY_S
from training.hazards import fit_hazards
from training.hazards.neutralisations import EVENTS, race_laps
from training.hazards.pit_loss import (
    ergast_pit_durations,
    pit_loss_from_laps,
    robust_sd,
    stop_losses,
)
from training.hazards.retirements import binomial_rows, car_races, team_history
from training.hazards.sc_rates import hazards as engine_hazards
from training.hazards.sc_rates import sc_history
from training.hazards.undercut import attempts, features_frame

RELIABILITY_BINS = 10


def _scores(p, y, w=None, bins: int = RELIABILITY_BINS, table: bool = False) -> dict:
    r = reliability(np.clip(p, 0.0, 1.0), y, w, n_bins=bins)
    out = {
        "log_loss": r.log_loss,
        "brier": r.brier,
        "ece": r.ece,
        "mean_predicted": r.mean_predicted,
        "observed": r.base_rate,
    }
    if table:
        out["reliability"] = [vars(b) for b in r.bins]
    return out


def _compare(
    model: np.ndarray,
    baselines: dict[str, np.ndarray],
    y: np.ndarray,
    groups: np.ndarray,
    w: np.ndarray | None = None,
    table: bool = False,
) -> dict:
    """Scores of the model and each baseline; per baseline ``vs_model``: its log-loss minus
    the model's (positive: the model is better) and the 95% interval over races."""
    out = {"model": _scores(model, y, w, table=table), "baselines": {}}
    for name, p in baselines.items():
        diff, lo, hi = bootstrap_difference(np.clip(model, 0, 1), np.clip(p, 0, 1), y, groups, w)
        out["baselines"][name] = {
            **_scores(p, y, w, table=table),
            "vs_model": {"log_loss": diff, "lo": lo, "hi": hi},
        }
    return out


def _binomial(p: np.ndarray, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Binomial rows as weighted 0/1 forecasts."""
    ev, tr = rows["events"].to_numpy(float), rows["trials"].to_numpy(float)
    return (
        np.concatenate([p, p]),
        np.concatenate([np.ones(len(p)), np.zeros(len(p))]),
        np.concatenate([ev, tr - ev]),
    )


def evaluate_neutralisations(
    models: HazardModels, train: pd.DataFrame, test: pd.DataFrame, data_dir: Path | None
) -> dict:
    frame_tr, frame_te = race_laps(train), race_laps(test)
    engine = None
    if data_dir is not None:
        table, overall = engine_hazards(sc_history(data_dir, until=int(train["season"].max())))
        engine = (table, overall)
    out = {}
    for event in EVENTS:
        h = getattr(models, event)
        rows = frame_te[frame_te[f"{event}_at_risk"]]
        y = rows[f"{event}_start"].to_numpy(float)
        tr_rows = frame_tr[frame_tr[f"{event}_at_risk"]]
        const = float(tr_rows[f"{event}_start"].mean())
        baselines = {}
        if engine is not None:
            table, overall = engine
            attr = "p_sc" if event == "sc" else "p_vsc"
            p = np.array([getattr(table.get(c, overall), attr) for c in rows["circuit"]])
            baselines["engine per-circuit constant"] = p
        baselines["all-circuit constant"] = np.full(len(y), const)
        out[event] = {
            "laps": len(rows),
            "starts": int(y.sum()),
            "races": int(rows["race_id"].nunique()),
            **_compare(h.predict(rows), baselines, y, rows["race_id"].to_numpy()),
            "features": h.features,
            "coef": dict(zip(h.model.features, h.model.coef, strict=True)),
            "selection": h.selection.to_dict(),
        }
    return out


def evaluate_retirements(
    models: HazardModels, ergast: dict[str, pd.DataFrame], train: Sequence[int], test: Sequence[int]
) -> dict:
    cars = car_races(ergast)
    history = team_history(cars[cars["season"] >= min(train) - 1])
    held = binomial_rows(history[history["season"].isin(list(test))])
    seen = binomial_rows(history[history["season"].isin(list(train))])
    rate = float(seen["events"].sum() / seen["trials"].sum())
    p, y, w = _binomial(models.retirement.predict(held), held)
    n = len(held)
    races = np.concatenate([held["raceId"].to_numpy()] * 2)
    baselines = {
        "engine DNF_PER_LAP": np.full(2 * n, DNF_PER_LAP),
        "training rate": np.full(2 * n, rate),
    }
    return {
        "car_laps": float(held["trials"].sum()),
        "retirements": float(held["events"].sum()),
        "races": int(held["raceId"].nunique()),
        **_compare(p, baselines, y, races, w),
        "features": models.retirement.features,
        "coef": dict(
            zip(models.retirement.model.features, models.retirement.model.coef, strict=True)
        ),
        "selection": models.retirement.selection.to_dict(),
    }


def engine_pit_losses(train: pd.DataFrame, data_dir: Path | None) -> dict[str, float]:
    """The engine's green pit loss per circuit, as ``training.hazards.pit_loss.pit_loss_from_laps``
    builds it: the last three training seasons' lap data, then Ergast's lane time - 2 s."""
    last = sorted(train["season"].unique())[-3:]
    losses = pit_loss_from_laps(train[train["season"].isin(last)])
    if data_dir is not None:
        until = int(train["season"].max())
        for circuit, duration in ergast_pit_durations(data_dir, until=until).items():
            losses.setdefault(circuit, duration - 2.0)
    return losses


def evaluate_pit_loss(
    models: HazardModels, train: pd.DataFrame, test: pd.DataFrame, data_dir: Path | None
) -> dict:
    m = models.pit_loss
    held, seen = stop_losses(test), stop_losses(train)
    engine = engine_pit_losses(train, data_dir)
    factor = {"green": 1.0, "sc": SC_LOSS_FACTOR["sc"], "vsc": SC_LOSS_FACTOR["vsc"]}

    def point(stops: pd.DataFrame) -> np.ndarray:
        return np.array(
            [
                engine.get(c, 22.0) * factor[s]
                for c, s in zip(stops["circuit"], stops["status"], strict=True)
            ]
        )

    # The engine has no spread: one per status from its residuals on the training stops.
    resid = seen["loss"].to_numpy() - point(seen)
    spread = {s: robust_sd(resid[(seen["status"] == s).to_numpy()]) for s in factor}
    loc = np.array(
        [m.distribution(c, s)[0] for c, s in zip(held["circuit"], held["status"], strict=True)]
    )
    base = point(held)
    base_scale = np.array([max(spread[s], 0.1) for s in held["status"]])
    ll_model = m.logpdf(held["loss"], held["circuit"], held["status"])
    ll_base = t_logpdf(held["loss"], base, base_scale, m.df)
    loss = held["loss"].to_numpy()
    out: dict = {"stops": {}, "model": {}, "baseline": {}}
    for status in ("all", "green", "sc", "vsc"):
        k = np.ones(len(held), bool) if status == "all" else (held["status"] == status).to_numpy()
        if not k.any():
            continue
        out["stops"][status] = int(k.sum())
        out["model"][status] = {
            "mae": float(np.mean(np.abs(loss[k] - loc[k]))),
            "log_lik": float(np.mean(ll_model[k])),
        }
        out["baseline"][status] = {
            "mae": float(np.mean(np.abs(loss[k] - base[k]))),
            "log_lik": float(np.mean(ll_base[k])),
        }
    out["share_of_green"] = {s: m.factor.get(s) for s in ("sc", "vsc")}
    out["share_of_green_engine"] = {s: SC_LOSS_FACTOR[s] for s in ("sc", "vsc")}
    out["seasons_used"] = m.seasons
    out["selection"] = m.selection.to_dict()
    return out


def _phi(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.vectorize(math.erf)(np.asarray(x, dtype=float) / math.sqrt(2.0)))


def engine_undercut(a: pd.DataFrame, race_models: RaceModels) -> np.ndarray:
    """``recommend()``'s undercut opportunity for each attempt: phi(fresh_gain - gap), where
    fresh_gain = 2 x (pace lost on the current tyres - pace of the new set) - out-lap
    penalty, from the circuit's compound offsets and slopes."""
    out = np.empty(len(a))
    for i, row in enumerate(a.itertuples()):
        off, slope = race_models.compound_arrays(row.circuit)
        c = COMPOUND_INDEX.get(row.pitter_compound, 1)
        n = COMPOUND_INDEX.get(row.new_compound, 1)
        gain = 2 * (off[c] + slope[c] * row.pitter_age - off[n] - slope[n]) - OUT_LAP_PENALTY_S
        out[i] = gain - row.gap
    return _phi(out)


def evaluate_moves(
    models: HazardModels,
    train: pd.DataFrame,
    test: pd.DataFrame,
    race_models: RaceModels | None,
) -> dict:
    held, seen = attempts(test), attempts(train)
    green = {c: v[0] for c, v in models.pit_loss.green.items()}
    x = features_frame(held, green, models.passing)
    out = {}
    for kind in ("undercut", "overcut"):
        model = getattr(models, kind)
        k = (held["kind"] == kind).to_numpy()
        tr = seen[seen["kind"] == kind]
        res: dict = {
            "attempts": int(k.sum()),
            "successes": int(held.loc[k, "success"].sum()),
            "training_attempts": len(tr),
            "training_successes": int(tr["success"].sum()),
        }
        if model is None or not k.any():
            out[kind] = res
            continue
        y = held.loc[k, "success"].to_numpy(float)
        baselines = {}
        if kind == "undercut" and race_models is not None:
            baselines["engine formula"] = engine_undercut(held[k], race_models)
        baselines["training rate"] = np.full(len(y), float(tr["success"].mean()))
        races = held.loc[k, "race_id"].to_numpy()
        res.update(_compare(model.predict(x[k]), baselines, y, races, table=True))
        res["features"] = model.features
        res["coef"] = dict(zip(model.model.features, model.model.coef, strict=True))
        res["calibrator"] = model.calibrator.kind
        res["selection"] = model.selection.to_dict()
        out[kind] = res
    return out


def evaluate(
    laps: pd.DataFrame,
    ergast: dict[str, pd.DataFrame],
    train: Sequence[int],
    test: Sequence[int],
    data_dir: Path | None = None,
    race_models: RaceModels | None = None,
    models: HazardModels | None = None,
    grids: dict | None = None,
    step: Callable[[str], None] | None = None,
) -> dict:
    """Fit on ``train`` seasons (unless ``models`` is given) and score on ``test`` seasons.

    ``data_dir`` enables the baselines read from the data directory (the engine's Ergast SC
    table and Ergast pit-lane times); ``race_models`` the engine's undercut formula. ``step``
    is told what is being done (for a progress display).
    """
    step = step or (lambda _msg: None)
    train, test = [int(s) for s in train], [int(s) for s in test]
    if set(train) & set(test):
        raise ValueError(f"seasons {sorted(set(train) & set(test))} are both train and test")
    races = laps[~laps["sprint"]]
    lap_tr = races[races["season"].isin(train)]
    lap_te = races[races["season"].isin(test)]
    if lap_te.empty:
        raise ValueError(f"no race laps of the test seasons {test}")
    if models is None:
        first_test = (min(test), 1)
        models = fit_hazards(laps, ergast, train, as_of=first_test, grids=grids, step=step)
    step("scoring the test seasons")
    return {
        "train": train,
        "test": test,
        "test_races_laps": int(lap_te["race_id"].nunique()),
        **evaluate_neutralisations(models, lap_tr, lap_te, data_dir),
        "retirement": evaluate_retirements(models, ergast, train, test),
        "pit_loss": evaluate_pit_loss(models, lap_tr, lap_te, data_dir),
        **evaluate_moves(models, lap_tr, lap_te, race_models),
    }
