"""The chance that a running car retires on a given lap, from Ergast's status history.

``car_races`` reads one row per car and race from Ergast's results: laps completed and
whether (and why) the car retired. Finished, "+N Laps" and disqualified cars did not retire;
cars that never started (withdrew, did not qualify, 107%) are left out; every other status
is a retirement during the lap after the last one completed, an accident (collision, spin,
damage, puncture) or a mechanical failure (everything else, "Retired" included).

Each car-race becomes two binomial rows: lap 1 (one trial) and the laps after it (one trial
a lap). Features, all known before the race: lap 1, the circuit's shrunk retirement rate
(leaving out the row's own race in training), the team's mechanical failures per lap in the
season so far (earlier rounds only) and in the season before, each shrunk towards the
training rate, and the whole field's mechanical failures in the season so far. One logistic
model; features and hyper-parameters chosen leave-one-season-out (``selection.choose``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from strategy.calibration import log_loss
from strategy.circuits import canonical_circuit
from strategy.hazards.retirements import RetirementModel, _matrix
from training.hazards.logistic import fit_logistic
from training.hazards.rates import loo_log_ratio, sum_rates
from training.hazards.selection import choose

NOT_STARTED = {
    "Withdrew", "Did not start", "Did not qualify", "Did not prequalify", "Not qualified",
    "107% Rule", "Excluded", "Illness", "Injured", "Injury", "Eye injury",
}  # fmt: skip


NOT_RETIRED = {"Finished", "Disqualified"}


ACCIDENT = {
    "Accident", "Collision", "Collision damage", "Spun off", "Damage", "Debris", "Puncture",
    "Tyre puncture", "Tyre", "Front wing", "Broken wing", "Fatal accident",
}  # fmt: skip


FEATURES = ["lap1", "circuit", "team_season", "team_prev", "field_season"]


OPTIONAL = ["field_season", "team_prev", "team_season", "circuit"]


GRID = {"circuit_prior": (500.0, 3000.0, 12000.0), "team_prior": (1500.0, 6000.0, 24000.0),
        "C": (0.03, 0.1, 1.0)}  # fmt: skip


def _lapped(status: str) -> bool:
    return bool(re.fullmatch(r"\+\d+ Laps?", status))


def car_races(ergast: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per car that started a race: raceId, season, round, circuit, team
    (constructorRef), driver (code), laps, retired, mechanical (a mechanical retirement)."""
    res = ergast["results"].merge(ergast["status"], on="statusId", how="left")
    races = ergast["races"][["raceId", "year", "round", "circuit"]]
    res = res.merge(races, on="raceId").rename(columns={"year": "season"})
    teams = ergast["constructors"][["constructorId", "constructorRef"]]
    res = res.merge(teams, on="constructorId", how="left")
    drivers = ergast["drivers"][["driverId", "code"]]
    res = res.merge(drivers, on="driverId", how="left")
    res["status"] = res["status"].fillna("Finished").astype(str)
    res["laps"] = pd.to_numeric(res["laps"], errors="coerce").fillna(0).astype(int)
    started = ~(res["status"].isin(NOT_STARTED) & (res["laps"] == 0))
    res = res[started].copy()
    finished = res["status"].isin(NOT_RETIRED) | res["status"].map(_lapped)
    res["retired"] = ~finished
    res["mechanical"] = res["retired"] & ~res["status"].isin(ACCIDENT)
    res["circuit"] = res["circuit"].map(canonical_circuit)
    out = res.rename(columns={"constructorRef": "team", "code": "driver"})
    cols = ["raceId", "season", "round", "circuit", "team", "driver", "laps", "retired"]
    return (
        out[[*cols, "mechanical", "status"]].sort_values(["season", "round"]).reset_index(drop=True)
    )


def _laps_run(cars: pd.DataFrame) -> pd.Series:
    """Laps each car was at risk: those completed, plus the one it retired on."""
    return cars["laps"] + cars["retired"].astype(int)


def team_history(cars: pd.DataFrame) -> pd.DataFrame:
    """Per car-race: the team's mechanical failures and laps in earlier rounds of the season
    (``team_e``, ``team_n``), in the whole season before (``prev_e``, ``prev_n``), and the
    field's in earlier rounds of the season (``field_e``, ``field_n``)."""
    run = _laps_run(cars)
    per = (
        cars.assign(e=cars["mechanical"].astype(float), n=run.astype(float))
        .groupby(["season", "round", "team"], as_index=False)[["e", "n"]]
        .sum()
        .sort_values(["season", "team", "round"])
    )
    g = per.groupby(["season", "team"])
    per["team_e"] = g["e"].cumsum() - per["e"]
    per["team_n"] = g["n"].cumsum() - per["n"]
    season_tot = per.groupby(["season", "team"], as_index=False)[["e", "n"]].sum()
    season_tot["season"] += 1
    per = per.merge(
        season_tot.rename(columns={"e": "prev_e", "n": "prev_n"}), on=["season", "team"], how="left"
    )
    field_rounds = (
        per.groupby(["season", "round"], as_index=False)[["e", "n"]].sum().sort_values("round")
    )
    fg = field_rounds.groupby("season")
    field_rounds["field_e"] = fg["e"].cumsum() - field_rounds["e"]
    field_rounds["field_n"] = fg["n"].cumsum() - field_rounds["n"]
    per = per.merge(field_rounds[["season", "round", "field_e", "field_n"]], on=["season", "round"])
    cols = ["team_e", "team_n", "prev_e", "prev_n", "field_e", "field_n"]
    per[cols] = per[cols].fillna(0.0)
    return cars.merge(per[["season", "round", "team", *cols]], on=["season", "round", "team"])


def binomial_rows(cars: pd.DataFrame) -> pd.DataFrame:
    """Two rows per car-race (lap 1, later laps) with ``trials`` and ``events``."""
    first = cars.assign(lap1=1.0, trials=1.0, events=(cars["retired"] & (cars["laps"] == 0)))
    later = cars.assign(
        lap1=0.0,
        trials=(_laps_run(cars) - 1).clip(lower=0).astype(float),
        events=(cars["retired"] & (cars["laps"] > 0)),
    )
    rows = pd.concat([first, later], ignore_index=True)
    rows["events"] = rows["events"].astype(float)
    return rows[rows["trials"] > 0].reset_index(drop=True)


def _xyw(rows: pd.DataFrame, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Binomial rows as weighted 0/1 rows for the logistic fit."""
    ev, tr = rows["events"].to_numpy(float), rows["trials"].to_numpy(float)
    xx = np.vstack([x, x])
    y = np.concatenate([np.ones(len(x)), np.zeros(len(x))])
    w = np.concatenate([ev, tr - ev])
    keep = w > 0
    return xx[keep], y[keep], w[keep]


def mechanical_rate(cars: pd.DataFrame) -> float:
    return float(cars["mechanical"].sum() / max(_laps_run(cars).sum(), 1))


def fit_retirement(
    history: pd.DataFrame,
    features: Sequence[str],
    circuit_prior: float,
    team_prior: float,
    C: float,
) -> RetirementModel:
    """Fit on ``team_history`` rows (all of them training races)."""
    rows = binomial_rows(history)
    mech = mechanical_rate(history)
    circuit = loo_log_ratio(
        rows["circuit"], rows["raceId"], rows["events"], rows["trials"], circuit_prior
    )
    x, y, w = _xyw(rows, _matrix(rows, features, circuit, mech, team_prior))
    model = fit_logistic(x, y, list(features), weights=w, C=C)
    rates = sum_rates(rows["circuit"], rows["events"], rows["trials"], circuit_prior)
    return RetirementModel(list(features), rates, mech, float(team_prior), model)


def _cv_score(history: pd.DataFrame, params: dict, features: list[str]) -> float:
    losses, weights = [], []
    for season in sorted(history["season"].unique()):
        held = binomial_rows(history[history["season"] == season])
        m = fit_retirement(
            history[history["season"] != season],
            features,
            params["circuit_prior"],
            params["team_prior"],
            params["C"],
        )
        p = m.predict(held)
        ev, tr = held["events"].to_numpy(float), held["trials"].to_numpy(float)
        losses.append(_binomial_log_loss(p, ev, tr))
        weights.append(tr.sum())
    return float(np.average(losses, weights=weights))


def _binomial_log_loss(p: np.ndarray, events: np.ndarray, trials: np.ndarray) -> float:
    """Per-trial log-loss of binomial rows."""
    pp = np.concatenate([p, p])
    y = np.concatenate([np.ones(len(p)), np.zeros(len(p))])
    w = np.concatenate([events, trials - events])
    return log_loss(pp, y, w)


def team_aliases(cars: pd.DataFrame, laps: pd.DataFrame | None) -> dict[str, str]:
    """Team names as the lap data and live feed write them -> Ergast constructor refs, matched
    on season, round and driver; plus each ref and lower-cased name as itself."""
    out: dict[str, str] = {t: t for t in cars["team"].dropna().unique()}
    if laps is not None and len(laps):
        pairs = laps[["season", "round", "driver", "team"]].drop_duplicates()
        joined = pairs.merge(
            cars[["season", "round", "driver", "team"]].rename(columns={"team": "ref"}),
            on=["season", "round", "driver"],
        )
        for name, g in joined.groupby("team"):
            ref = g["ref"].mode().iloc[0]
            out[str(name)] = str(ref)
            out[str(name).lower()] = str(ref)
    return out


def season_tables(history: pd.DataFrame, season: int, before_round: int):
    """As of ``season`` before ``before_round``: each team's (failures, laps) this season so
    far and last season, and the field's this season so far."""
    run = _laps_run(history)
    h = history.assign(e=history["mechanical"].astype(float), n=run.astype(float))
    now = h[(h["season"] == season) & (h["round"] < before_round)]
    prev = h[h["season"] == season - 1]

    def table(frame: pd.DataFrame) -> dict[str, list[float]]:
        sums = frame.groupby("team")[["e", "n"]].sum()
        return {str(t): [float(r.e), float(r.n)] for t, r in sums.iterrows()}

    return table(now), table(prev), [float(now["e"].sum()), float(now["n"].sum())]


def fit_retirements(
    history: pd.DataFrame,
    train_seasons: Sequence[int],
    as_of: tuple[int, int] | None = None,
    laps: pd.DataFrame | None = None,
    grid: dict | None = None,
) -> RetirementModel:
    """Choose and fit on ``train_seasons`` of ``team_history`` rows; the team tables are those
    known before ``as_of`` = (season, round) (default: the first race after the training
    seasons, so that nothing of a later season leaks into them)."""
    train = history[history["season"].isin(list(train_seasons))]
    sel = choose(
        grid or GRID,
        FEATURES,
        OPTIONAL,
        lambda p, f: _cv_score(train, p, f),
        sorted(int(s) for s in train["season"].unique()),
    )
    p = sel.params
    model = fit_retirement(train, sel.features, p["circuit_prior"], p["team_prior"], p["C"])
    model.selection = sel
    as_of = as_of or (max(int(s) for s in train_seasons) + 1, 1)
    model.aliases = team_aliases(history, laps)
    return tables_as_of(model, history, *as_of)


def tables_as_of(
    model: RetirementModel, history: pd.DataFrame, season: int, before_round: int
) -> RetirementModel:
    """``model`` with the team tables known before round ``before_round`` of ``season``
    (``team_history`` rows of any seasons: only earlier races are read)."""
    known = history[
        (history["season"] < season)
        | ((history["season"] == season) & (history["round"] < before_round))
    ]
    team_season, team_prev, field_season = season_tables(known, season, before_round)
    return replace(model, team_season=team_season, team_prev=team_prev, field_season=field_season)
