"""The battle forecast of a race state, as the stream worker and the API use it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from schemas import BattlePair, BattlesEvent, EventTime
from strategy.battles.history import HORIZONS
from strategy.battles.model import FEATURES, BattleModel, feature_matrix, pair_features
from strategy.race_state import RaceState


@dataclass
class Battle:
    """A pair of adjacent cars and the chance the car behind passes within 1, 3, 5 laps."""

    position: int  # of the car behind
    ahead: str
    behind: str
    gap: float | None
    drs: bool
    pace_delta: float | None  # s per lap, behind minus ahead (negative: behind is faster)
    tyre_age_delta: float | None  # laps, behind minus ahead
    compound_ahead: str | None
    compound_behind: str | None
    p_pass_1: float
    p_pass_3: float
    p_pass_5: float


def _maybe(v: float) -> float | None:
    return None if v is None or np.isnan(v) else round(float(v), 3)


def forecast(state: RaceState, model: BattleModel) -> list[Battle]:
    """The battles of a race state: every pair of running cars next to each other in the
    order (a retired car between them leaves them adjacent), the car ahead first.

    Laps under SC, VSC or red flag are left out of the history the model learnt from, so
    under a neutralised track the chances are those once racing resumes."""
    cars = [d for d in state.running() if d.position and d.gap_to_leader is not None]
    pairs = list(itertools.pairwise(cars))
    if not pairs:
        return []
    x = feature_matrix(
        [b.gap_to_leader - a.gap_to_leader for a, b in pairs],
        [a.pace for a, _ in pairs],
        [b.pace for _, b in pairs],
        [a.tyre_age for a, _ in pairs],
        [b.tyre_age for _, b in pairs],
        [a.compound for a, _ in pairs],
        [b.compound for _, b in pairs],
        model.rate(state.circuit),
        [b.position for _, b in pairs],
        state.lap,
        state.laps_total,
    )
    probs = model.predict(x)
    col = {f: i for i, f in enumerate(FEATURES)}
    out = []
    for (a, b), row, p in zip(pairs, x, probs, strict=True):
        out.append(
            Battle(
                position=b.position,
                ahead=a.driver,
                behind=b.driver,
                gap=_maybe(row[col["gap"]]),
                drs=bool(row[col["drs"]]),
                pace_delta=_maybe(row[col["pace_delta"]]),
                tyre_age_delta=_maybe(row[col["tyre_age_delta"]]),
                compound_ahead=a.compound,
                compound_behind=b.compound,
                p_pass_1=round(float(p[0]), 4),
                p_pass_3=round(float(p[1]), 4),
                p_pass_5=round(float(p[2]), 4),
            )
        )
    return out


def battles_event(
    state: RaceState,
    model: BattleModel,
    event_time: EventTime,
    source_produced_at: datetime | None = None,
) -> BattlesEvent:
    """The ``f1.battles.v1`` event of a race state (the stream worker's hook: call it with the
    same ``RaceState`` as the strategy update and the triggering lap's ``event_time``)."""
    return BattlesEvent(
        session_key=state.session_key,
        event_time=event_time,
        lap=state.lap,
        laps_total=state.laps_total,
        model_version=model.version,
        pairs=[BattlePair(**vars(b)) for b in forecast(state, model)],
        source_produced_at=source_produced_at,
    )


def forecast_pairs(pairs: pd.DataFrame, model: BattleModel) -> pd.DataFrame:
    """``pairs`` (a ``pair_frame``) with p_pass_1/3/5 added: the forecast of every lap."""
    probs = model.predict(pair_features(pairs, model.rates, model.overall_rate))
    out = pairs.copy()
    for i, h in enumerate(HORIZONS):
        out[f"p_pass_{h}"] = probs[:, i]
    return out
