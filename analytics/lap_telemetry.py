"""The telemetry payloads: which lap of a driver to trace, one lap's traces as chart-ready
arrays, and two laps compared (time delta, mini-sectors, corners).

The traces themselves (``analytics.telemetry.lap_trace``) come from the lap's samples, which
the caller loads; everything here works on the lap table and the traces.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analytics import telemetry as tel
from analytics.errors import NotInSession
from analytics.numbers import num
from analytics.session import SessionLaps


def lap_row(s: SessionLaps, driver: str, lap: int | None) -> pd.Series:
    """The lap table's row of ``driver``'s lap ``lap`` (None: his fastest timed lap); raises
    ``NotInSession`` naming the timed laps when there is no such lap."""
    s.require_drivers([driver])
    mine = s.laps[(s.laps["driver"] == driver) & s.laps["lap_time"].notna()]
    if lap is None:
        if mine.empty:
            raise NotInSession(f"{driver} has no timed lap in {s.session_key}")
        return mine.loc[mine["lap_time"].idxmin()]
    row = mine[mine["lap"] == lap]
    if row.empty:
        laps = mine["lap"].astype(int).tolist()
        span = f"{min(laps)}-{max(laps)}" if laps else "none"
        raise NotInSession(
            f"{driver} has no timed lap {lap} in {s.session_key} (timed laps: {span})"
        )
    return row.iloc[0]


def trace_json(
    driver: str, row: pd.Series, trace: tel.LapTrace, corners: list[dict[str, Any]]
) -> dict[str, Any]:
    """One lap's traces (``LapTrace`` of the lap table's ``row``) as rounded arrays."""
    ch = trace.channels
    return {
        "driver": driver,
        "lap": int(row["lap"]),
        "lap_time": round(trace.lap_time, 3),
        "compound": str(row["compound"]),
        "length": round(trace.length, 1),
        "distance": np.round(trace.distance, 1),
        "time": np.round(trace.time, 3),
        "speed": np.round(ch["speed"], 1),
        "throttle": np.round(ch["throttle"], 1),
        "brake": np.round(ch["brake"], 2),
        "gear": ch["gear"].astype(int),
        "drs": ch["drs"].astype(int),
        "x": None if trace.x is None else np.round(trace.x, 0),
        "y": None if trace.y is None else np.round(trace.y, 0),
        "full_throttle": num(tel.full_throttle_share(trace)),
        "corners": corners,
    }


def lap_telemetry(
    s: SessionLaps, driver: str, row: pd.Series, trace: tel.LapTrace
) -> dict[str, Any]:
    """The ``LapTelemetry`` payload: one lap's traces and its corners' minimum speeds."""
    return {**s.ref(), **trace_json(driver, row, trace, tel.corner_speeds(trace))}


def compare_telemetry(
    s: SessionLaps, drivers: list[str], traced: list[tuple[pd.Series, tel.LapTrace]]
) -> dict[str, Any]:
    """The ``TelemetryComparison`` payload of two drivers' laps (``traced``: each one's lap
    row and trace, the reference first)."""
    (row_a, ref), (row_b, other) = traced
    return {
        **s.ref(),
        "reference": drivers[0],
        "traces": [
            trace_json(drivers[0], row_a, ref, tel.corner_speeds(ref)),
            trace_json(drivers[1], row_b, other, tel.corner_speeds(other)),
        ],
        "delta": np.round(tel.delta(ref, other), 3),
        "mini_sectors": tel.mini_sectors({drivers[0]: ref, drivers[1]: other}),
        "corners": tel.corner_comparison(ref, other),
    }
