"""Naive forecasts the model must beat, from the same feature rows.

* **grid slot** (after qualifying): each driver gets the win and podium rate of his grid
  slot in the races before this one (``GridRecord`` in ``grid_record.py``: seasons from
  2000, lightly smoothed), renormalised so a race's win chances sum to 1 and podium chances
  to 3 (none above 1);
* **pole wins**: the pole sitter wins (top1 only);
* **climatology** (before qualifying, no grid yet): history's base rate, every driver
  1 / field size to win and 3 / field size to finish on the podium.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from prerace.calibration import cap_to_total, normalize_by_race


def grid_slot(rows: pd.DataFrame) -> pd.DataFrame:
    groups = rows["race_id"].to_numpy()
    p_win = normalize_by_race(rows["grid_win_rate"].to_numpy(float), groups, 1.0)
    p_pod = normalize_by_race(rows["grid_podium_rate"].to_numpy(float), groups, 3.0)
    return _frame(rows, p_win, cap_to_total(p_pod, groups, 3.0))


def pole_wins(rows: pd.DataFrame) -> pd.DataFrame:
    pole = (rows["grid"].to_numpy(float) == 1).astype(float)
    return _frame(rows, pole, np.full(len(rows), np.nan))


def climatology(rows: pd.DataFrame) -> pd.DataFrame:
    n = rows.groupby("race_id")["driver_id"].transform("size").to_numpy(float)
    return _frame(rows, 1.0 / n, np.minimum(1.0, 3.0 / n))


def _frame(rows: pd.DataFrame, p_win: np.ndarray, p_podium: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "race_id": rows["race_id"].to_numpy(),
            "driver_id": rows["driver_id"].to_numpy(),
            "p_win": p_win,
            "p_podium": p_podium,
        }
    )
