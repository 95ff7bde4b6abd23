"""Race pace (fuel- and tyre-corrected) and qualifying pace, per driver or per team.

Race pace: every clean, fuel-corrected lap goes into one least-squares fit over the whole
field (``field_fit``): a term per driver, per lap (fuel-model error, track evolution, weather)
and per compound (offset and slope with tyre age). The driver term is his pace against the
others on the same laps and the same tyres, so a driver who ran hards is compared with one who
ran mediums. A team's pace is the median of its cars' laps so corrected.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.laps import clean_laps

#: Laps further than this (s) from the fit are left out of the second fit.
OUTLIER_S = 1.5


def _design(clean: pd.DataFrame) -> tuple[np.ndarray, dict[str, dict]]:
    """Columns: one per driver, per lap after the first (track and fuel), per compound but
    the most used (offset), per compound (slope with tyre age)."""
    drivers = sorted(clean["driver"].unique())
    laps = sorted(clean["lap"].unique())[1:]
    comps = clean["compound"].value_counts().index.tolist()
    idx: dict[str, dict] = {"driver": {}, "lap": {}, "offset": {}, "slope": {}}
    n = 0
    for name, keys in (("driver", drivers), ("lap", laps), ("offset", comps[1:]), ("slope", comps)):
        for k in keys:
            idx[name][k] = n
            n += 1
    x = np.zeros((len(clean), n))
    rows = np.arange(len(clean))
    x[rows, clean["driver"].map(idx["driver"]).to_numpy(int)] = 1.0
    lap_col = clean["lap"].map(idx["lap"])
    has = lap_col.notna().to_numpy()
    x[rows[has], lap_col[has].to_numpy(int)] = 1.0
    comp = clean["compound"].to_numpy()
    age = clean["tyre_life"].fillna(0).to_numpy(float)
    for c, j in idx["offset"].items():
        x[comp == c, j] = 1.0
    for c, j in idx["slope"].items():
        x[comp == c, j] = age[comp == c]
    return x, idx


def field_fit(clean: pd.DataFrame) -> dict[str, dict]:
    """A least-squares fit over the whole field of clean laps: ``fc = driver + lap + compound
    offset + compound slope * tyre age``. Cars are compared on the same laps (the lap terms
    take fuel, track evolution and the weather), on the same tyres. Fitted twice, the second
    time without the laps more than ``OUTLIER_S`` from the first fit (traffic, mistakes).
    Returns the coefficients by kind: driver, lap, offset, slope."""
    y = clean["fc"].to_numpy(float)
    x, idx = _design(clean)
    keep = np.ones(len(y), bool)
    coef = np.zeros(x.shape[1])
    for _ in range(2):
        # Normal equations (a few hundred columns at most): the same minimum-norm solution as
        # least squares on the laps, several times faster.
        xk = x[keep]
        coef, *_ = np.linalg.lstsq(xk.T @ xk, xk.T @ y[keep], rcond=None)
        keep = np.abs(y - x @ coef) <= OUTLIER_S
    out = {k: {key: float(coef[j]) for key, j in v.items()} for k, v in idx.items()}
    ref = clean["compound"].value_counts().index[0]
    out["offset"][ref] = 0.0
    return out


def tyre_model(clean: pd.DataFrame) -> tuple[dict[str, float], dict[str, float]]:
    """(offset, slope) per compound from ``field_fit``; the most used compound's offset is 0."""
    if clean.empty:
        return {}, {}
    fit = field_fit(clean)
    return fit["offset"], fit["slope"]


def race_pace(laps: pd.DataFrame, by: str = "driver") -> pd.DataFrame:
    """Per driver (or team): clean laps, median raw and fuel-corrected lap, and the pace from
    ``field_fit`` (the driver's term on the field's average lap and tyres, in seconds), with
    its gap to the best, fastest first."""
    cols = [by, "laps", "median_lap", "fuel_corrected", "pace", "gap"]
    clean = clean_laps(laps)
    if clean.empty or clean["driver"].nunique() < 1:
        return pd.DataFrame(columns=cols)
    fit = field_fit(clean)
    x, idx = _design(clean)
    coef = np.zeros(x.shape[1])
    for kind in ("lap", "offset", "slope"):
        for key, j in idx[kind].items():
            coef[j] = fit[kind][key]
    # The driver's own laps with the lap and tyre terms swapped for the field's average.
    common = x @ coef
    corrected = clean["fc"].to_numpy(float) - common + common.mean()
    clean = clean.assign(corrected=corrected)
    out = (
        clean.groupby(by)
        .agg(
            laps=("lap", "size"),
            median_lap=("lap_time", "median"),
            fuel_corrected=("fc", "median"),
            pace=("corrected", "median"),
        )
        .reset_index()
    )
    if by == "driver":
        mean_common = float(common.mean())
        out["pace"] = out["driver"].map(fit["driver"]) + mean_common
    out = out.sort_values("pace")
    out["gap"] = out["pace"] - out["pace"].min()
    return out[cols].reset_index(drop=True)


def quali_pace(laps: pd.DataFrame, by: str = "driver") -> pd.DataFrame:
    """Per driver (or team: its faster car): best timed lap, gap to the best in s and %."""
    timed = laps[laps["lap_time"].notna()]
    if "deleted" in timed:
        timed = timed[~timed["deleted"].fillna(False).astype(bool)]
    best = timed.loc[timed.groupby("driver")["lap_time"].idxmin()]
    if by != "driver":
        best = best.loc[best.groupby(by)["lap_time"].idxmin()]
    out = best[[by, "driver", "lap", "lap_time", "compound"]].sort_values("lap_time")
    if by == "driver":
        out = out.loc[:, ~out.columns.duplicated()]
    fastest = out["lap_time"].min()
    out = out.assign(gap=out["lap_time"] - fastest, gap_pct=100 * (out["lap_time"] / fastest - 1))
    return out.reset_index(drop=True)
