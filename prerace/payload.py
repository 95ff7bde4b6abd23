"""A race's stored predictions as the served document (``schemas.winner.RacePrediction``).

The automatic update (to cache it) and the API (on a cache miss) both build it here from the
same frames, so the document has one shape whichever path served it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from schemas.winner import BASELINES, DriverChance, MomentPrediction, RacePrediction

MOMENT_ORDER = ("pre", "post")
#: A race's stored predictions as ``race_prediction`` reads them (one parameter: race_id).
PREDICTIONS_SQL = (
    "SELECT moment, driver_id, constructor_id, grid, p_win, p_podium, base_win, base_podium, "
    "model_version, kind, generated_at FROM predictions WHERE race_id = %s"
)
#: A race's finishing positions (one parameter: race_id).
RESULTS_SQL = "SELECT driver_id, position FROM results WHERE race_id = %s"


def _lookup(frame: pd.DataFrame | None, key: str) -> dict[int, dict[str, Any]]:
    if frame is None or frame.empty:
        return {}
    return {
        int(k): v for k, v in frame.drop_duplicates(key).set_index(key).to_dict("index").items()
    }


def _text(value: Any) -> str | None:
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def _pct(value: Any, cap: float = 100.0) -> float | None:
    return None if value is None or pd.isna(value) else round(min(cap, 100 * float(value)), 2)


def race_prediction(
    race: Mapping[str, Any],
    circuit: str | None,
    preds: pd.DataFrame,
    drivers: pd.DataFrame | None,
    constructors: pd.DataFrame | None,
    completed: bool,
    results: pd.DataFrame | None = None,
    notice: str | None = None,
) -> RacePrediction:
    """``preds``: one row per moment and driver (``PREDICTIONS_SQL``'s columns);
    ``drivers``/``constructors`` give the names, ``results`` (``driver_id``, ``position``)
    where each finished once the race is run."""
    people, teams = _lookup(drivers, "driver_id"), _lookup(constructors, "constructor_id")
    finish = {}
    if results is not None and len(results):
        finish = {
            int(d): int(p)
            for d, p in zip(results["driver_id"], results["position"], strict=True)
            if not pd.isna(p)
        }
    moments = []
    for moment in MOMENT_ORDER:
        m = preds[preds["moment"] == moment].sort_values(["p_win", "p_podium"], ascending=False)
        if m.empty:
            continue
        chances = []
        for r in m.itertuples(index=False):
            d = people.get(int(r.driver_id), {})
            team_id = None if pd.isna(r.constructor_id) else int(r.constructor_id)
            name = " ".join(x for x in (_text(d.get("forename")), _text(d.get("surname"))) if x)
            chances.append(
                DriverChance(
                    driver_id=int(r.driver_id),
                    driver_ref=_text(d.get("driver_ref")),
                    code=_text(d.get("code")),
                    driver_name=name or str(r.driver_id),
                    constructor_id=team_id,
                    team=_text(teams.get(team_id, {}).get("name")) if team_id else None,
                    grid=None if pd.isna(r.grid) else int(r.grid),
                    win_probability=round(100 * float(r.p_win), 2),
                    podium_probability=round(min(100.0, 100 * float(r.p_podium)), 2),
                    baseline_win_probability=_pct(getattr(r, "base_win", None)),
                    baseline_podium_probability=_pct(getattr(r, "base_podium", None)),
                    finish_position=finish.get(int(r.driver_id)),
                )
            )
        moments.append(
            MomentPrediction(
                moment=moment,
                model_version=str(m["model_version"].iloc[0]),
                kind=str(m["kind"].iloc[0]),
                generated_at=pd.Timestamp(m["generated_at"].max()).to_pydatetime(),
                baseline=BASELINES[moment],
                predictions=chances,
            )
        )
    if not moments:
        raise ValueError(f"race {race.get('race_id')} has no predictions")
    latest = moments[-1]
    date = race.get("date")
    return RacePrediction(
        race_id=int(race["race_id"]),
        season=int(race["season"]),
        round=int(race["round"]),
        race_name=str(race["name"]),
        race_date=None if date is None or pd.isna(date) else pd.Timestamp(date).date(),
        circuit=circuit,
        status="completed" if completed else "scheduled",
        grid_known=any(mp.moment == "post" for mp in moments),
        model_version=latest.model_version,
        generated_at=latest.generated_at,
        predictions=latest.predictions,
        moments=moments,
        notice=notice,
    )
