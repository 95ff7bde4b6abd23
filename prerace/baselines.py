"""Naive forecasts the model must beat, from the same feature rows (so from the same history
before each race).

* **grid slot** (after qualifying): each driver gets the win and podium rate of his grid
  slot in the races before this one (``GridRecord`` in ``grid_record.py``: seasons from
  2000, lightly smoothed), renormalised so a race's win chances sum to 1 and podium chances
  to 3 (none above 1);
* **pole wins**: the pole sitter wins (top 1 only);
* **championship order** (before qualifying): the win and podium rate of the driver's place
  in the drivers' championship before the race (last season's final order at the opener),
  renormalised the same way: the probabilistic "championship leader wins";
* **leader wins**: the championship leader (last season's champion at the opener) wins
  (top 1 only);
* **constructors' order**: the rate of the driver's team's place in the constructors'
  championship;
* **climatology**: history's base rate, every driver 1 / field size to win and 3 / field
  size to finish on the podium.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from prerace.calibration import cap_to_total, normalize_by_race
from schemas.winner import BASELINES

#: The baseline each moment's model contains (``model.BASE``), by name.
CONTAINED = BASELINES


def _rates(rows: pd.DataFrame, win: str, podium: str) -> pd.DataFrame:
    groups = rows["race_id"].to_numpy()
    p_win = normalize_by_race(rows[win].to_numpy(float), groups, 1.0)
    p_pod = normalize_by_race(rows[podium].to_numpy(float), groups, 3.0)
    return _frame(rows, p_win, cap_to_total(p_pod, groups, 3.0))


def grid_slot(rows: pd.DataFrame) -> pd.DataFrame:
    return _rates(rows, "grid_win_rate", "grid_podium_rate")


def championship(rows: pd.DataFrame) -> pd.DataFrame:
    return _rates(rows, "standing_win_rate", "standing_podium_rate")


def constructors(rows: pd.DataFrame) -> pd.DataFrame:
    return _rates(rows, "team_standing_win_rate", "team_standing_podium_rate")


def _first_of(rows: pd.DataFrame, column: str) -> pd.DataFrame:
    """1 for the row(s) with the lowest ``column`` of each race (a tie shares the pick)."""
    low = rows.groupby("race_id")[column].transform("min").to_numpy(float)
    pick = (rows[column].to_numpy(float) == low).astype(float)
    return _frame(rows, pick, np.full(len(rows), np.nan))


def pole_wins(rows: pd.DataFrame) -> pd.DataFrame:
    return _first_of(rows, "grid")


def leader_wins(rows: pd.DataFrame) -> pd.DataFrame:
    return _first_of(rows, "standing")


def climatology(rows: pd.DataFrame) -> pd.DataFrame:
    n = rows.groupby("race_id")["driver_id"].transform("size").to_numpy(float)
    return _frame(rows, 1.0 / n, np.minimum(1.0, 3.0 / n))


#: The baselines scored beside each moment's model (name -> forecast; top-1-only ones last).
FOR_MOMENT: dict[str, dict[str, Callable[[pd.DataFrame], pd.DataFrame]]] = {
    "post": {"grid_slot": grid_slot, "climatology": climatology, "pole_wins": pole_wins},
    "pre": {
        "championship": championship,
        "constructors": constructors,
        "climatology": climatology,
        "leader_wins": leader_wins,
    },
}
TOP1_ONLY = frozenset({"pole_wins", "leader_wins"})


def _frame(rows: pd.DataFrame, p_win: np.ndarray, p_podium: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "race_id": rows["race_id"].to_numpy(),
            "driver_id": rows["driver_id"].to_numpy(),
            "p_win": p_win,
            "p_podium": p_podium,
        }
    )
