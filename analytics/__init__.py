"""Driver and car analytics over a session's laps and telemetry: pure functions over pandas
frames and numpy arrays, no I/O (the API's services load the laps and call them).

Lap frames have the columns of ``strategy.laptable.lap_table`` (after ``finish_laps``); telemetry
frames those of a FastF1 lap's ``get_telemetry()`` (Time since lap start, Speed, Throttle,
Brake, nGear, DRS, and Distance and X/Y where present).

The analyses: ``laps`` (clean, fuel-corrected laps), ``pace`` (race and qualifying pace per
driver or team), ``consistency``, ``stints`` (degradation per stint and compound), ``sectors``
(sector times and speed traps), ``head_to_head`` (team mates), ``evolution`` (track evolution
through a session), ``telemetry`` (distance-aligned traces, the time delta along a lap, minimum
corner speeds, mini-sector dominance) and ``trackmap`` (a circuit outline laid onto the cars'
X/Y).

The chart-ready payloads the API serves, built from them: ``session`` (``SessionLaps``: a
session's laps, drivers and how a payload names them), ``comparison`` (drivers and teams side
by side), ``insights``, ``lap_telemetry`` (one lap's traces, two laps compared), ``battles``
(the pass forecast over a past race) and ``trackmap.track_map``; with ``colours`` (team
colours), ``numbers`` (rounding, NaN as null) and ``errors`` (``NotInSession``).
"""

from __future__ import annotations

from analytics.laps import clean_laps, fuel_corrected_times

__all__ = ["clean_laps", "fuel_corrected_times"]
