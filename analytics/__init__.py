"""Driver and car analytics over a session's laps and telemetry: pure functions over pandas
frames and numpy arrays, no I/O.

Lap frames have the columns of ``strategy.laptable.lap_table`` (after ``finish_laps``); telemetry
frames those of a FastF1 lap's ``get_telemetry()`` (Time since lap start, Speed, Throttle,
Brake, nGear, DRS, and Distance and X/Y where present). Modules: ``pace`` (race and qualifying
pace per driver or team), ``consistency``, ``stints`` (degradation per stint and compound),
``sectors`` (sector times and speed traps), ``head_to_head`` (team mates), ``evolution``
(track evolution through a session) and ``telemetry`` (distance-aligned traces, the time
delta along a lap, minimum corner speeds, mini-sector dominance).
"""

from __future__ import annotations

from analytics.laps import clean_laps, fuel_corrected_times

__all__ = ["clean_laps", "fuel_corrected_times"]
