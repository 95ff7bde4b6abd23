"""A race's stored predictions as the served document (``schemas.winner.RacePrediction``).

The automatic update (to cache it) and the API (on a cache miss) both build it here from the
same frames, so the document has one shape whichever path served it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from schemas.winner import DriverChance, MomentPrediction, RacePrediction

MOMENT_ORDER = ("pre", "post")


def _lookup(frame: pd.DataFrame | None, key: str) -> dict[int, dict[str, Any]]:
    if frame is None or frame.empty:
        return {}
    return {
        int(k): v for k, v in frame.drop_duplicates(key).set_index(key).to_dict("index").items()
    }


def _text(value: Any) -> str | None:
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def race_prediction(
    race: Mapping[str, Any],
    circuit: str | None,
    preds: pd.DataFrame,
    drivers: pd.DataFrame | None,
    constructors: pd.DataFrame | None,
    completed: bool,
) -> RacePrediction:
    """``preds``: one row per moment and driver (``moment``, ``driver_id``,
    ``constructor_id``, ``grid``, ``p_win``, ``p_podium``, ``model_version``, ``kind``,
    ``generated_at``); ``drivers``/``constructors`` give the names."""
    people, teams = _lookup(drivers, "driver_id"), _lookup(constructors, "constructor_id")
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
                )
            )
        moments.append(
            MomentPrediction(
                moment=moment,
                model_version=str(m["model_version"].iloc[0]),
                kind=str(m["kind"].iloc[0]),
                generated_at=pd.Timestamp(m["generated_at"].max()).to_pydatetime(),
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
    )
