"""The chance that a safety car (track status 4) or a virtual safety car (6) starts on a lap.

``race_laps`` turns lap tables into one row per race and leader lap, with what the live worker
knows when that lap begins and whether a neutralisation started during it:

- the leader's lap (the first car to complete it) carries every track-status code seen while
  it ran, in order (FastF1's ``TrackStatus``: "1", "24", "671", ...);
- an SC (or red flag) runs on into lap L when lap L-1 ended under it and lap L began under it
  (last code of L-1 and first code of L both 4 or 5); every other lap is at risk, and an SC
  starts on it when "4" is among its codes. A VSC likewise with "6" (blocked by 4, 5 or 6);
- the state before the lap: the share of the field on intermediates or wets on lap L-1 (lap 1:
  the tyres on the grid), how many of the last ``window`` leader laps saw a yellow flag (2), and
  whether one of the last two laps ran under an SC, VSC or red flag (a restart).

One logistic model per event (``LapHazard``) on lap 1, the circuit's shrunk rate
(``rates.ShrunkRates``), wet share, recent yellows and restart; features and
hyper-parameters chosen leave-one-season-out on the training seasons (``selection.choose``),
the yellow-flag window once, for the SC, and kept for the VSC.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from strategy.calibration import log_loss
from strategy.circuits import canonical_circuit
from strategy.hazards.neutralisations import MAX_WINDOW, LapHazard, _matrix
from training.hazards.logistic import fit_logistic
from training.hazards.rates import loo_log_ratio, sum_rates
from training.hazards.selection import choose

WET = ("INTERMEDIATE", "WET")


EVENTS = {"sc": ("4", "45"), "vsc": ("6", "456")}  # code that starts it, codes that block it


FEATURES = ["lap1", "circuit", "wet", "yellows", "restart"]


OPTIONAL = ["restart", "yellows", "wet", "lap1"]


GRID = {"prior": (50.0, 200.0, 800.0, 3000.0), "window": (1, 2, 3), "C": (0.03, 0.3, 3.0)}


def race_laps(laps: pd.DataFrame) -> pd.DataFrame:
    """One row per race and leader lap: track-status codes, state before the lap, outcomes.

    Columns: race_id, season, circuit (canonical), lap, laps_total, codes, yellow (the lap saw
    a yellow) and yellow_1..yellow_5 (lap L-k did), wet (share on intermediates/wets before
    the lap), restart, and per event ``sc``/``vsc``: ``<e>_start`` and ``<e>_at_risk``.
    """
    df = laps[["race_id", "season", "circuit", "lap", "laps_total", "time", "position"]].copy()
    df["codes"] = laps["track_status"].astype(str)
    df["wet_car"] = laps["compound"].isin(WET).astype(float)
    df["known"] = laps["compound"].ne("UNKNOWN").astype(float)
    # The leader's lap: the first car to complete it (position 1 where the time is missing).
    df["order"] = df["time"].fillna(np.inf)
    df.loc[df["time"].isna() & df["position"].ne(1), "order"] = np.inf
    lead = df.sort_values(["race_id", "lap", "order"]).groupby(["race_id", "lap"]).head(1)
    shares = df.groupby(["race_id", "lap"])[["wet_car", "known"]].sum()
    out = lead.set_index(["race_id", "lap"])[["season", "circuit", "laps_total", "codes"]]
    out = out.join(shares).reset_index().sort_values(["race_id", "lap"])
    out["circuit"] = out["circuit"].map(canonical_circuit)
    share = (out["wet_car"] / out["known"].where(out["known"] > 0)).fillna(0.0)
    prev = out.groupby("race_id", sort=False)
    # Before lap L: the field's tyres on lap L-1; before lap 1, the tyres it starts on.
    out["wet"] = share.groupby(out["race_id"]).shift(1).fillna(share)
    last_prev = prev["codes"].shift(1).fillna("1").str[-1]
    first = out["codes"].str[0]
    out["yellow"] = out["codes"].str.contains("2", regex=False).astype(float)
    yellows = out["yellow"].groupby(out["race_id"], sort=False)
    for k in range(1, MAX_WINDOW + 1):  # each row knows the laps before it
        out[f"yellow_{k}"] = yellows.shift(k, fill_value=0.0)
    neutral = out["codes"].str.contains("[456]", regex=True)
    by_race = neutral.groupby(out["race_id"], sort=False)
    out["restart"] = (
        by_race.shift(1, fill_value=False) | by_race.shift(2, fill_value=False)
    ).astype(float)
    for event, (code, blocking) in EVENTS.items():
        # Running on from lap L-1: it ended that lap under it and lap L began under it.
        running = last_prev.isin(list(blocking)) & first.isin(list(blocking))
        out[f"{event}_at_risk"] = ~running
        out[f"{event}_start"] = ~running & out["codes"].str.contains(code, regex=False)
    out["lap1"] = (out["lap"] == 1).astype(float)
    return out.drop(columns=["wet_car", "known"]).reset_index(drop=True)


def _at_risk(frame: pd.DataFrame, event: str) -> pd.DataFrame:
    return frame[frame[f"{event}_at_risk"]]


def fit_lap_hazard(
    frame: pd.DataFrame, event: str, features: Sequence[str], prior: float, window: int, C: float
) -> LapHazard:
    """Fit on ``race_laps`` rows (all of them training rows)."""
    rows = _at_risk(frame, event)
    y = rows[f"{event}_start"].astype(float)
    ones = pd.Series(1.0, index=rows.index)
    circuit = loo_log_ratio(rows["circuit"], rows["race_id"], y, ones, prior)
    x = _matrix(rows, features, circuit, window)
    model = fit_logistic(x, y.to_numpy(), list(features), C=C)
    rates = sum_rates(rows["circuit"], y, ones, prior)
    return LapHazard(event, list(features), int(window), rates, model)


def _cv_score(frame: pd.DataFrame, event: str, params: dict, features: list[str]) -> float:
    losses, weights = [], []
    for season in sorted(frame["season"].unique()):
        train, held = (
            frame[frame["season"] != season],
            _at_risk(frame[frame["season"] == season], event),
        )
        if held.empty or not train[f"{event}_start"].any():
            continue
        h = fit_lap_hazard(train, event, features, params["prior"], params["window"], params["C"])
        losses.append(log_loss(h.predict(held), held[f"{event}_start"].astype(float)))
        weights.append(len(held))
    return float(np.average(losses, weights=weights))


def fit_neutralisations(frame: pd.DataFrame, grid: dict | None = None) -> dict[str, LapHazard]:
    """SC and VSC hazards from ``race_laps`` rows of the training seasons, each chosen
    leave-one-season-out (see ``selection``). The VSC model counts yellow flags over the
    window chosen for the SC, so that the engine counts them once."""
    out: dict[str, LapHazard] = {}
    folds = sorted(int(s) for s in frame["season"].unique())
    grid = dict(grid or GRID)
    for event in EVENTS:
        sel = choose(
            grid,
            FEATURES,
            OPTIONAL,
            lambda p, f, event=event: _cv_score(frame, event, p, f),
            folds,
        )
        p = sel.params
        h = fit_lap_hazard(frame, event, sel.features, p["prior"], p["window"], p["C"])
        h.selection = sel
        out[event] = h
        grid["window"] = (p["window"],)
    return out
