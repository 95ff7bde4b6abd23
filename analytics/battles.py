"""The battle forecast replayed over a past race: at the end of every lap, each pair of
adjacent cars with the chance of a pass within 1, 3 and 5 laps (``strategy.battles``), beside
whether the pass really came within 3."""

from __future__ import annotations

from typing import Any

from analytics.errors import NotInSession
from analytics.numbers import num
from analytics.session import SessionLaps


def _pair_json(r: Any, drs_gap_s: float) -> dict[str, Any]:
    """One forecast pair (a ``forecast_pairs`` row) as the ``Battles`` payload carries it."""
    return {
        "position": int(r.position),
        "ahead": r.ahead,
        "behind": r.behind,
        "gap": num(r.gap),
        "drs": bool(r.gap < drs_gap_s),
        "pace_delta": num(r.pace_behind - r.pace_ahead),
        "tyre_age_delta": num(r.tyre_age_behind - r.tyre_age_ahead),
        "compound_ahead": r.compound_ahead,
        "compound_behind": r.compound_behind,
        "p_pass_1": round(float(r.p_pass_1), 4),
        "p_pass_3": round(float(r.p_pass_3), 4),
        "p_pass_5": round(float(r.p_pass_5), 4),
    }


def battles_from_laps(
    s: SessionLaps, model: Any, from_lap: int | None, to_lap: int | None
) -> dict[str, Any]:
    """The forecast of ``model`` (a ``strategy.battles.BattleModel``) at the end of every lap
    of a past race, with what really happened; raises ``NotInSession`` for a timed session."""
    from strategy import battles

    if not s.race:
        raise NotInSession(
            f"{s.session_key} is not a race: battles are forecast for races and sprints"
        )
    pairs = battles.forecast_pairs(battles.pair_frame(s.laps), model)
    usable, passed = battles.outcome(pairs, 3)
    pairs = pairs.assign(usable=usable, passed=passed)
    if from_lap is not None:
        pairs = pairs[pairs["lap"] >= from_lap]
    if to_lap is not None:
        pairs = pairs[pairs["lap"] <= to_lap]
    out = []
    for lap, g in pairs.groupby("lap"):
        rows, actual = [], {}
        for r in g.itertuples(index=False):
            rows.append(_pair_json(r, battles.DRS_GAP_S))
            actual[f"{r.ahead}-{r.behind}"] = bool(r.passed) if r.usable else None
        out.append({"lap": int(lap), "pairs": rows, "passed_within_3": actual})
    return {
        "session": s.session_key,
        "source": "laps",
        "model_version": model.version,
        "laps": out,
    }
