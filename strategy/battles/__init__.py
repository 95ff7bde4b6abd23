"""Battle forecast: for each pair of adjacent cars, the chance of a pass on track within the
next 1, 3 and 5 laps.

From lap tables (``strategy.laptable.lap_table`` columns) ``pair_frame`` builds, at the end of every
lap, each pair of cars in adjacent positions with the state both knew then (gap at the line,
recent pace, tyre age and compound) and what happened next: the first lap on which the car
behind was ahead, and the first lap that makes a position change say nothing about racing (a pit
in- or out-lap of either car, SC/VSC/red flag, a retirement, the end of the race). A pass
counts only when it comes before such a lap; a window cut short by one without a pass is left
out (censored). Lap 1 is never a window lap: anchors start at the end of lap 1.

``features`` is the one feature builder of training, back-test, API and stream worker. The
circuit's passing difficulty is fitted from history (``passing_rates``: passes per lap of pairs
within 1.5 s, shrunk towards the overall rate). One LightGBM classifier per horizon.
``forecast`` takes the race model's ``RaceState`` and returns the pairs (the worker's hook).

Modules: ``history`` (pairs and their outcomes), ``model`` (features, the classifiers, loading
the artifact), ``live`` (the forecast of a race state and its ``f1.battles.v1`` event). Fitting
and the back-test live in ``training.battles``.
"""

from __future__ import annotations

from strategy.battles.history import (
    CLOSE_GAP_S,
    DRS_GAP_S,
    HORIZONS,
    outcome,
    pair_frame,
    passing_rates,
    recent_pace,
    tyre_kind,
)
from strategy.battles.live import Battle, battles_event, forecast, forecast_pairs
from strategy.battles.model import (
    FEATURES,
    MAX_GAP_S,
    BattleModel,
    feature_matrix,
    features,
    latest,
    load,
    pair_features,
)

__all__ = [
    "CLOSE_GAP_S",
    "DRS_GAP_S",
    "FEATURES",
    "HORIZONS",
    "MAX_GAP_S",
    "Battle",
    "BattleModel",
    "battles_event",
    "feature_matrix",
    "features",
    "forecast",
    "forecast_pairs",
    "latest",
    "load",
    "outcome",
    "pair_features",
    "pair_frame",
    "passing_rates",
    "recent_pace",
    "tyre_kind",
]
