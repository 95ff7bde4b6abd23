"""The feature rows of every race of a history, from one walk of ``FeatureBuilder``.

The rows of a race hold what was known before it (``features.py``); the targets (``win``,
``podium``, ``position``) are added where the race was run. A race's row uses the grid when
the history has it (its results or qualifying), so the ``pre`` and ``post`` models read the
same rows with different columns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from prerace.features import FeatureBuilder, FeatureConfig
from prerace.history import History
from prerace.race_inputs import entrants_of, quali_seconds, weekend_weather
from prerace.teams import team_keys

#: Street and semi-street circuits (``circuit_ref``): walls close, passing hard.
STREET_CIRCUITS = frozenset(
    {
        "monaco", "baku", "marina_bay", "jeddah", "vegas", "valencia", "adelaide", "detroit",
        "phoenix", "albert_park", "villeneuve", "sochi", "miami", "long_beach", "dallas",
    }
)  # fmt: skip


@dataclass
class FeatureTable:
    """Rows of every race from ``since`` (targets where the race is run) and the builder's
    state after the last race run (ready for the next one)."""

    rows: pd.DataFrame
    builder: FeatureBuilder


def street_circuits(history: History) -> set[int]:
    """The ids of the history's street circuits."""
    c = history.circuits
    if c is None:
        return set()
    return set(c.loc[c["circuit_ref"].isin(STREET_CIRCUITS), "circuit_id"].astype(int))


def _by_race(frame: pd.DataFrame | None) -> dict[int, pd.DataFrame]:
    return dict(tuple(frame.groupby("race_id"))) if frame is not None and len(frame) else {}


def build_features(
    history: History,
    since: int = 2000,
    config: FeatureConfig | None = None,
    warmup_from: int = 1991,
) -> FeatureTable:
    """Walk every race from ``warmup_from``; rows for races from season ``since``."""
    builder = FeatureBuilder(config or FeatureConfig(), team_keys(history.constructors))
    races = history.ordered_races()
    races = races[races["season"] >= warmup_from]
    res_by_race = _by_race(history.results)
    spr_by_race = _by_race(history.sprint_results)
    q = history.qualifying
    q_cols = ["race_id", "driver_id", "constructor_id", "position", "q1_s", "q2_s", "q3_s"]
    q_by_race = _by_race(quali_seconds(q)[q_cols] if q is not None else None)
    w_by_race = _by_race(history.weather)
    street_ids = street_circuits(history)
    out = []
    for row in races.to_dict("records"):
        rid = int(row["race_id"])
        if row["season"] >= since:
            entrants = entrants_of(res_by_race.get(rid), q_by_race.get(rid), builder.lineup)
            if len(entrants):
                frame = builder.features(
                    row,
                    entrants,
                    q_by_race.get(rid),
                    weekend_weather(w_by_race.get(rid)),
                    street=int(row["circuit_id"]) in street_ids,
                )
                out.append(_with_targets(frame, res_by_race.get(rid)))
        if row["has_results"]:
            builder.update(row, res_by_race[rid], spr_by_race.get(rid), q_by_race.get(rid))
    rows = pd.concat(out, ignore_index=True) if out else pd.DataFrame()
    return FeatureTable(rows, builder)


def _with_targets(frame: pd.DataFrame, results: pd.DataFrame | None) -> pd.DataFrame:
    """``win``, ``podium`` and ``position`` of each row (NaN while the race is not run)."""
    if results is None:
        frame["win"] = frame["podium"] = frame["position"] = math.nan
        return frame
    p = frame["driver_id"].map(results.set_index("driver_id")["position"])
    frame["win"] = (p == 1).astype(float)
    frame["podium"] = (p <= 3).astype(float)
    frame["position"] = p
    return frame
