"""Telemetry of a session's laps: a lap's samples through the replay's loader, resampled on a
distance grid (``analytics.telemetry``), as cached JSON (``analytics.lap_telemetry``)."""

from __future__ import annotations

import pandas as pd

from analytics import lap_telemetry as payloads
from analytics.telemetry import LapTrace, lap_trace
from api.analytics_models import LapTelemetry, TelemetryComparison
from api.resources import Resources
from api.services.cache import cached
from api.services.errors import NotFound
from api.services.session_laps import LoadedSession, load
from core.settings import Settings
from replay.session_data import NoTelemetryError, load_lap_telemetry


def trace_of(
    s: LoadedSession, driver: str, lap: int | None, settings: Settings, step: float
) -> tuple[pd.Series, LapTrace]:
    """``driver``'s lap ``lap`` (None: his fastest) and its trace every ``step`` metres;
    raises ``NotFound`` when the source has no car telemetry or too little of the lap."""
    row = payloads.lap_row(s.laps, driver, lap)
    try:
        samples = load_lap_telemetry(s.data, driver, settings)
    except NoTelemetryError as exc:
        raise NotFound(str(exc)) from None
    n = int(row["lap"])
    lap_samples = samples[samples["lap_number"] == n]
    try:
        trace = lap_trace(lap_samples, float(row["lap_time"]), step)
    except ValueError as exc:
        raise NotFound(f"{driver} lap {n}: {exc}") from None
    return row, trace


async def lap(res: Resources, session: str, driver: str, lap: int, step: float) -> bytes:
    """The ``LapTelemetry`` JSON of one lap."""

    def compute() -> LapTelemetry:
        s = load(res, session)
        row, trace = trace_of(s, driver, lap, res.settings, step)
        return LapTelemetry(**payloads.lap_telemetry(s.laps, driver, row, trace))

    return await cached(res.redis, "lap", session, f"{driver}:{lap}:{step}", compute)


async def compare(
    res: Resources, session: str, drivers: list[str], laps: list[int | None], step: float
) -> bytes:
    """The ``TelemetryComparison`` JSON of two drivers' laps (None: each one's fastest)."""

    def compute() -> TelemetryComparison:
        s = load(res, session)
        s.laps.require_drivers(drivers)
        traced = [trace_of(s, d, n, res.settings, step) for d, n in zip(drivers, laps, strict=True)]
        return TelemetryComparison(**payloads.compare_telemetry(s.laps, drivers, traced))

    asked = "fastest" if all(n is None for n in laps) else ",".join(map(str, laps))
    params = f"{','.join(drivers)}:{asked}:{step}"
    return await cached(res.redis, "tcompare", session, params, compute)
