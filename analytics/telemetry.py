"""Telemetry of single laps: distance-aligned traces, the time delta along the lap, minimum
corner speeds and mini-sector dominance.

A lap's samples (FastF1 ``get_telemetry()`` columns: ``Time`` since the lap start, Speed in
km/h, Throttle, Brake, nGear, DRS, RPM, and ``Distance`` and X/Y where the source has them) are
pinned to the lap's real start and end: distance 0 at time 0, and the lap's full distance at
its official lap time, extrapolated from the last sample at its speed. Distance comes from
integrating speed over time where the source lacks it. Two laps are compared at the same
fraction of the lap (their lines differ by a few metres), so the delta ends at exactly their
lap-time difference and is read at the reference lap's metres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

CHANNELS = ("speed", "throttle", "brake", "gear", "drs", "rpm")
_SOURCE = {"speed": "Speed", "throttle": "Throttle", "brake": "Brake", "gear": "nGear",
           "drs": "DRS", "rpm": "RPM"}  # fmt: skip
STEP_M = 5.0
#: DRS channel values meaning the flap is open (FastF1: 10, 12, 14).
DRS_OPEN = 10


@dataclass
class LapTrace:
    """One lap on a distance grid: metres, seconds since the lap start, and channels."""

    distance: np.ndarray
    time: np.ndarray
    channels: dict[str, np.ndarray]
    lap_time: float
    x: np.ndarray | None = None
    y: np.ndarray | None = None

    @property
    def length(self) -> float:
        return float(self.distance[-1])

    def time_at_fraction(self, frac: np.ndarray) -> np.ndarray:
        return np.interp(frac * self.length, self.distance, self.time)


def _seconds(col: pd.Series) -> np.ndarray:
    if pd.api.types.is_timedelta64_dtype(col):
        return col.dt.total_seconds().to_numpy(float)
    if col.dtype == object:
        return pd.to_timedelta(col).dt.total_seconds().to_numpy(float)
    return col.to_numpy(float)


def lap_trace(samples: pd.DataFrame, lap_time: float, step: float = STEP_M) -> LapTrace:
    """Resample one lap's samples every ``step`` metres from the start line to the finish."""
    df = samples.copy()
    df["_t"] = _seconds(df["Time"])
    df = df.dropna(subset=["_t", "Speed"]).sort_values("_t").drop_duplicates("_t")
    df = df[(df["_t"] >= 0) & (df["_t"] <= lap_time)]
    if len(df) < 10:
        raise ValueError(f"too few telemetry samples for a lap ({len(df)})")
    t = df["_t"].to_numpy(float)
    v = df["Speed"].to_numpy(float) / 3.6
    if "Distance" in df and df["Distance"].notna().all():
        d = df["Distance"].to_numpy(float)
        d = d - d[0] + v[0] * t[0]
    else:
        d = v[0] * t[0] + np.concatenate([[0.0], np.cumsum(np.diff(t) * (v[1:] + v[:-1]) / 2)])
    d = np.maximum.accumulate(d)
    end = d[-1] + v[-1] * max(lap_time - t[-1], 0.0)
    dist_pts = np.concatenate([[0.0], d, [end]])
    time_pts = np.concatenate([[0.0], t, [lap_time]])
    grid = np.append(np.arange(0.0, end, step), end)
    time = np.interp(grid, dist_pts, time_pts)
    channels = {}
    for name, col in _SOURCE.items():
        if col in df:
            vals = df[col].astype(float).to_numpy()
            vals = np.concatenate([[vals[0]], vals, [vals[-1]]])
            channels[name] = np.interp(grid, dist_pts, vals)
    if "gear" in channels:
        channels["gear"] = np.rint(channels["gear"])
    x = y = None
    if "X" in df and "Y" in df and df["X"].notna().any():
        ok = df["X"].notna().to_numpy()
        x = np.interp(grid, d[ok], df["X"].to_numpy(float)[ok])
        y = np.interp(grid, d[ok], df["Y"].to_numpy(float)[ok])
    return LapTrace(grid, time, channels, float(lap_time), x, y)


def delta(reference: LapTrace, other: LapTrace) -> np.ndarray:
    """Seconds ``other`` is behind ``reference`` at each of the reference's grid points
    (negative: ahead), compared at the same fraction of the lap."""
    frac = reference.distance / reference.length
    return other.time_at_fraction(frac) - reference.time


def corner_speeds(trace: LapTrace, prominence: float = 25.0, spacing_m: float = 150.0) -> list:
    """The minimum speed of each corner: local minima of the speed trace at least
    ``prominence`` km/h below the speeds around them. [{distance, speed, gear}]"""
    from scipy.signal import find_peaks

    speed = trace.channels["speed"]
    step = float(np.median(np.diff(trace.distance)))
    idx, _ = find_peaks(-speed, prominence=prominence, distance=max(int(spacing_m / step), 1))
    gear = trace.channels.get("gear")
    return [
        {
            "distance": round(float(trace.distance[i]), 1),
            "speed": round(float(speed[i]), 1),
            "gear": None if gear is None else int(gear[i]),
        }
        for i in idx
    ]


def corner_comparison(reference: LapTrace, other: LapTrace, window_m: float = 60.0) -> list:
    """The reference's corners with each lap's minimum speed there (the other lap's minimum
    within ``window_m`` of the same fraction of the lap)."""
    scale = other.length / reference.length
    out = []
    for c in corner_speeds(reference):
        at = c["distance"] * scale
        near = np.abs(other.distance - at) <= window_m
        o = float(other.channels["speed"][near].min()) if near.any() else None
        out.append(
            {**c, "other_speed": o, "speed_delta": None if o is None else round(o - c["speed"], 1)}
        )
    return out


def mini_sectors(traces: dict[str, LapTrace], n: int = 25) -> dict:
    """The lap cut into ``n`` equal parts: each driver's time in each and who was fastest.

    ``{"bounds": [fractions], "times": {driver: [s]}, "fastest": [driver], "share":
    {driver: parts won / n}}``."""
    bounds = np.linspace(0.0, 1.0, n + 1)
    times = {d: np.diff(t.time_at_fraction(bounds)) for d, t in traces.items()}
    names = list(times)
    table = np.vstack([times[d] for d in names])
    fastest = [names[i] for i in table.argmin(axis=0)]
    return {
        "bounds": bounds.round(4).tolist(),
        "times": {d: np.round(v, 4).tolist() for d, v in times.items()},
        "fastest": fastest,
        "share": {d: fastest.count(d) / n for d in names},
    }


def drs_open(trace: LapTrace) -> np.ndarray:
    """Whether the DRS flap is open at each grid point."""
    drs = trace.channels.get("drs")
    return np.zeros(len(trace.distance), bool) if drs is None else drs >= DRS_OPEN


def full_throttle_share(trace: LapTrace, threshold: float = 98.0) -> float:
    """Share of the lap's distance spent at full throttle."""
    thr = trace.channels.get("throttle")
    return float((thr >= threshold).mean()) if thr is not None else float("nan")
