"""Undercut and overcut success from real attempts in the lap data, calibrated.

``attempts`` finds them. At the end of lap L-1 the cars are ordered as they crossed the line;
car P pits at the end of lap L (its in-lap; lap L+1 its out-lap) while the adjacent car O,
within ``MAX_GAP_S``, stays out and stops within ``MAX_RESPONSE`` laps after (in-lap M). With O
ahead of P it is an **undercut** by P; with O behind it is an **overcut** by O. Once both have
stopped (the end of lap M+1, O's out-lap) the attempt succeeded when the attacker (P for the
undercut, O for the overcut) completed that lap first. Left out: laps L-1..M+1 under SC, VSC or
red flag for either car, a car that retires or stops again before M+1, and anything but dry
tyres. O pitting on lap L too (the same-lap double stop) is no attempt.

Features, all known at the end of lap L-1, as the decision engine has them for the attacker:
``gap`` (s, at the line), ``age_delta`` (the tyre age of the car staying out minus that of the
set fitted at the stop, for the undercut; for the overcut the other way round: the age of the
staying car's tyres minus those of the set the pitting car fits), ``compound_delta`` (hardness
index SOFT 0, MEDIUM 1, HARD 2: the staying car's compound minus the fitted one), ``pace_delta``
(the attacker's recent clean, fuel-corrected pace minus the other car's: negative = faster), the
circuit's green pit loss and its passing rate (log ratio to all circuits).

A logistic model, then a calibrator (Platt or isotonic) fitted on its leave-one-season-out
forecasts over the training seasons; features, regularisation and calibrator chosen by the
pooled leave-one-season-out log-loss of the calibrated forecasts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from strategy.calibration import log_loss
from strategy.circuits import canonical_circuit
from strategy.compounds import DRY
from strategy.fuel import FUEL_S_PER_LAP
from strategy.hazards.logistic import Calibrator
from strategy.hazards.undercut import HARDNESS, SuccessModel
from strategy.laptime import clean_mask_as_known
from strategy.race_state import PACE_LAPS
from training.hazards.logistic import fit_calibrator, fit_logistic
from training.hazards.selection import choose

MAX_GAP_S = 5.0  # "within a few seconds": the car staying out at most this far away


MAX_RESPONSE = 6  # laps: the car staying out stops within this many laps, or no attempt


FEATURES = ["gap", "age_delta", "compound_delta", "pace_delta", "pit_loss", "passing"]


OPTIONAL = ["passing", "pit_loss", "compound_delta", "age_delta", "pace_delta"]


GRID = {"C": (0.03, 0.3, 3.0), "calibration": ("identity", "platt", "isotonic")}


KINDS = ("undercut", "overcut")


def recent_pace(laps: pd.DataFrame) -> pd.Series:
    """Per lap: the median of the driver's last ``PACE_LAPS`` clean, fuel-corrected laps up to
    and with it (NaN before two), as the live worker keeps ``DriverState.pace``."""
    df = laps.sort_values(["race_id", "driver", "lap"])
    clean = clean_mask_as_known(df)
    fc = (df["lap_time"] - FUEL_S_PER_LAP * (df["laps_total"] - df["lap"]))[clean]
    key = [df.loc[clean, "race_id"], df.loc[clean, "driver"]]
    med = fc.groupby(key, sort=False).transform(
        lambda s: s.rolling(PACE_LAPS, min_periods=2).median()
    )
    out = med.reindex(df.index)
    return out.groupby([df["race_id"], df["driver"]], sort=False).ffill().reindex(laps.index)


class _LapLookup:
    """Any column of the lap table at (race, driver, lap) keys, many keys at once."""

    def __init__(self, df: pd.DataFrame) -> None:
        self.idx = df.set_index(["race_id", "driver", "lap"])

    def __call__(self, race, driver, lap, col: str) -> np.ndarray:
        key = pd.MultiIndex.from_arrays([race, driver, lap])
        return self.idx[col].reindex(key).to_numpy()


def _pairs_at_stops(df: pd.DataFrame) -> pd.DataFrame:
    """Every stop on lap L >= 2 with the car directly ahead (undercut) and behind (overcut)
    at the end of lap L-1, within ``MAX_GAP_S``: kind, race, circuit, lap, pitter, stayer, gap."""
    order = df.dropna(subset=["time"]).sort_values(["race_id", "lap", "time"])
    g = order.groupby(["race_id", "lap"], sort=False)
    order = order.assign(
        ahead=g["driver"].shift(1),
        ahead_time=g["time"].shift(1),
        behind=g["driver"].shift(-1),
        behind_time=g["time"].shift(-1),
    )
    stops = df[df["pit_in"] & (df["lap"] >= 2)]
    before = order.set_index(["race_id", "driver", "lap"]).reindex(
        pd.MultiIndex.from_arrays([stops["race_id"], stops["driver"], stops["lap"] - 1])
    )
    frames = []
    for kind, other, other_time in (
        ("undercut", "ahead", "ahead_time"),
        ("overcut", "behind", "behind_time"),
    ):
        gap = (before["time"] - before[other_time]).to_numpy()
        if kind == "overcut":
            gap = -gap
        frames.append(
            pd.DataFrame(
                {
                    "kind": kind,
                    "race_id": stops["race_id"].to_numpy(),
                    "season": stops["season"].to_numpy(),
                    "circuit": stops["circuit"].map(canonical_circuit).to_numpy(),
                    "lap": stops["lap"].to_numpy(),
                    "pitter": stops["driver"].to_numpy(),
                    "stayer": before[other].to_numpy(),
                    "gap": gap,
                }
            )
        )
    a = pd.concat(frames, ignore_index=True)
    return a[a["stayer"].notna() & (a["gap"] > 0) & (a["gap"] <= MAX_GAP_S)].reset_index(drop=True)


def _clean_windows(a: pd.DataFrame, at: _LapLookup, end: np.ndarray) -> np.ndarray:
    """Attempts whose laps L-1 to M+1 of both cars are present, racing and dry, where the
    pitter stops once (its next in-lap after L comes after M+1) and comes out on lap L+1."""
    r, L, p, o = a["race_id"], a["lap"], a["pitter"], a["stayer"]
    valid = np.ones(len(a), bool)
    for k in range(int(MAX_RESPONSE) + 3):
        lap_k = L - 1 + k
        inside = (lap_k <= end).to_numpy()
        for car in (p, o):
            present = ~pd.isna(at(r, car, lap_k, "time"))
            neutral = at(r, car, lap_k, "neutralised")
            dry = pd.Series(at(r, car, lap_k, "compound")).isin(DRY).to_numpy()
            good = present & (neutral == False) & dry  # noqa: E712 (object array of bools)
            valid &= ~inside | good
    again = at(r, p, L + 1, "next_pit")
    valid &= pd.isna(again) | (again > end)
    valid &= at(r, p, L + 1, "pit_out") == True  # noqa: E712
    return valid


def attempts(laps: pd.DataFrame) -> pd.DataFrame:
    """Undercut and overcut attempts with their features' raw inputs and outcome.

    Columns: kind, race_id, season, circuit, lap (L), pitter, stayer, response (M - L), gap,
    pitter_age, pitter_compound (at L-1), new_compound, new_age (of the set fitted), stayer_age,
    stayer_compound, pitter_pace, stayer_pace (at L-1), success (of the attacker).
    """
    df = laps.sort_values(["race_id", "driver", "lap"]).copy()
    df["pace"] = recent_pace(df)
    # Each car's next in-lap from every lap on (itself included).
    pit_lap = df["lap"].where(df["pit_in"])
    df["next_pit"] = pit_lap.groupby([df["race_id"], df["driver"]], sort=False).bfill()
    at = _LapLookup(df)
    a = _pairs_at_stops(df)
    r, L, o = a["race_id"], a["lap"], a["stayer"]
    m = at(r, o, L, "next_pit")  # the stayer's in-lap (its own lap L if it stops on L too)
    a["response"] = m - L
    ok = (a["response"] >= 1) & (a["response"] <= MAX_RESPONSE)
    a, m = a[ok].reset_index(drop=True), m[ok.to_numpy()]
    r, L, p, o = a["race_id"], a["lap"], a["pitter"], a["stayer"]
    a["pitter_age"], a["stayer_age"] = at(r, p, L - 1, "tyre_life"), at(r, o, L - 1, "tyre_life")
    a["pitter_compound"] = at(r, p, L - 1, "compound")
    a["stayer_compound"] = at(r, o, L - 1, "compound")
    a["new_compound"] = at(r, p, L + 1, "compound")
    a["new_age"] = at(r, p, L + 1, "tyre_life") - 1.0
    a["pitter_pace"], a["stayer_pace"] = at(r, p, L - 1, "pace"), at(r, o, L - 1, "pace")
    # Once both have stopped: who completed the stayer's out-lap first.
    end = m + 1
    a["success_pitter"] = at(r, p, end, "time") < at(r, o, end, "time")
    a = a[_clean_windows(a, at, end)].reset_index(drop=True)
    a["success"] = np.where(a["kind"] == "undercut", a["success_pitter"], ~a["success_pitter"])
    a["success"] = a["success"].astype(float)
    return a.drop(columns=["success_pitter"])


def features_frame(a: pd.DataFrame, pit_loss: dict[str, float], passing) -> pd.DataFrame:
    """The model's features of ``attempts`` rows (``pit_loss`` green medians per circuit,
    ``passing`` a ``ShrunkRates`` of passes)."""
    under = (a["kind"] == "undercut").to_numpy()
    stay_hard = a["stayer_compound"].map(HARDNESS).to_numpy(float)
    new_hard = a["new_compound"].map(HARDNESS).to_numpy(float)
    fallback = float(np.median(list(pit_loss.values()))) if pit_loss else 22.0
    attacker_pace = np.where(under, a["pitter_pace"], a["stayer_pace"])
    other_pace = np.where(under, a["stayer_pace"], a["pitter_pace"])
    out = pd.DataFrame(
        {
            "gap": a["gap"].to_numpy(float),
            "age_delta": (a["stayer_age"] - a["new_age"]).to_numpy(float),
            "compound_delta": stay_hard - new_hard,
            "pace_delta": (attacker_pace - other_pace).astype(float),
            "pit_loss": a["circuit"].map(lambda c: pit_loss.get(c, fallback)).to_numpy(float),
            "passing": passing.log_ratios(a["circuit"].to_numpy()),
        }
    )
    out["pace_delta"] = out["pace_delta"].fillna(0.0)
    return out


def _oof(x: pd.DataFrame, y: np.ndarray, seasons: np.ndarray, features, C) -> np.ndarray:
    """Leave-one-season-out forecasts of the (uncalibrated) logistic model."""
    out = np.full(len(y), np.nan)
    for s in np.unique(seasons):
        tr, te = seasons != s, seasons == s
        if len(np.unique(y[tr])) < 2:
            continue
        m = fit_logistic(x.loc[tr, features].to_numpy(float), y[tr], list(features), C=C)
        out[te] = m.prob(x.loc[te, features].to_numpy(float))
    return out


def _calibrator(raw: np.ndarray, y: np.ndarray, kind: str) -> Calibrator:
    """A calibrator on out-of-fold forecasts; none (identity) when there are none (a single
    season cannot be held out from itself)."""
    ok = ~np.isnan(raw)
    if len(np.unique(y[ok])) < 2:
        return Calibrator()
    return fit_calibrator(raw[ok], y[ok], kind)


def _cv_score(x, y, seasons, params: dict, features: list[str]) -> float:
    """Pooled log-loss of calibrated forecasts: for each held-out season, the model and the
    calibrator (on the other seasons' own out-of-fold forecasts) never saw that season."""
    losses, weights = [], []
    for s in np.unique(seasons):
        tr, te = seasons != s, seasons == s
        raw_tr = _oof(x[tr].reset_index(drop=True), y[tr], seasons[tr], features, params["C"])
        cal = _calibrator(raw_tr, y[tr], params["calibration"])
        m = fit_logistic(x.loc[tr, features].to_numpy(float), y[tr], list(features), C=params["C"])
        p = cal(m.prob(x.loc[te, features].to_numpy(float)))
        losses.append(log_loss(np.clip(p, 0, 1), y[te]))
        weights.append(te.sum())
    return float(np.average(losses, weights=weights))


def fit_success(
    x: pd.DataFrame, y: np.ndarray, seasons: np.ndarray, kind: str, grid: dict | None = None
) -> SuccessModel:
    """Choose features, C and calibrator leave-one-season-out, then fit on all rows: the
    logistic model on every row, the calibrator on its leave-one-season-out forecasts."""
    x = x.reset_index(drop=True)
    y = np.asarray(y, dtype=float)
    seasons = np.asarray(seasons)
    sel = choose(
        grid or GRID,
        FEATURES,
        OPTIONAL,
        lambda p, f: _cv_score(x, y, seasons, p, f),
        sorted(int(s) for s in np.unique(seasons)),
    )
    feats, C = sel.features, sel.params["C"]
    model = fit_logistic(x[feats].to_numpy(float), y, feats, C=C)
    cal = _calibrator(_oof(x, y, seasons, feats, C), y, sel.params["calibration"])
    return SuccessModel(kind, feats, model, cal, len(y), int(y.sum()), sel)


def fit_undercuts(
    a: pd.DataFrame,
    pit_loss: dict[str, float],
    passing,
    kinds: Sequence[str] = KINDS,
    grid: dict | None = None,
) -> dict[str, SuccessModel]:
    """One calibrated model per kind of attempt, from ``attempts`` rows of training seasons."""
    x = features_frame(a, pit_loss, passing)
    out = {}
    for kind in kinds:
        k = (a["kind"] == kind).to_numpy()
        if k.sum() < 30:
            continue
        out[kind] = fit_success(
            x[k], a.loc[k, "success"].to_numpy(), a.loc[k, "season"].to_numpy(), kind, grid
        )
    return out
