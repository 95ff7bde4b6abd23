"""The back-test's figures from replayed races, each beside its naive baseline.

Every function takes the :class:`~training.race_replay.RaceRecord` of the races scored and
returns plain numbers: the engine's figure and the baselines' from the same races.
"""

from __future__ import annotations

import numpy as np

from strategy.calibration import reliability
from training.race_replay import PCTS, PLAN_AHEAD, RaceRecord

NAN = float("nan")


def _mean(values) -> float:
    values = list(values)
    return float(np.mean(values)) if values else NAN


def strategy_scores(records: list[RaceRecord]) -> dict[str, dict[str, float] | int]:
    """Stop count and top-3 sequence matches: engine, the circuit's habit and "one stop"."""
    rows = [row for rec in records for row in rec.strategy]
    cols = list(zip(*rows, strict=True)) if rows else [[]] * 5
    return {
        "stops_match": {
            "model": _mean(cols[0]),
            "habit": _mean(cols[1]),
            "one_stop": _mean(cols[2]),
        },
        "sequence_top3": {"model": _mean(cols[3]), "habit": _mean(cols[4])},
        "drivers": len(rows),
    }


def _prf(calls: set[tuple[str, int]], stops: set[tuple[str, int]], green: set) -> dict:
    def near(d: str, lap: int, pool: set[tuple[str, int]]) -> bool:
        return any((d, lap + k) in pool for k in (-1, 0, 1))

    hits = sum(near(d, lap, stops) for d, lap in calls)
    found = sum(near(d, lap, calls) for d, lap in green)
    precision = hits / len(calls) if calls else NAN
    recall = found / len(green) if green else NAN
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "calls": len(calls)}


def box_call_scores(records: list[RaceRecord]) -> dict:
    """ "Box this lap" on green car-laps against real in-laps (within one lap): precision,
    recall and F1 of the engine and of the tyre-age rule; and the error of the planned stop lap
    ``PLAN_AHEAD`` laps before each real stop."""
    engine: dict[str, list] = {"calls": [], "stops": [], "green": []}
    rule: list = []
    for rec in records:
        rid = rec.race_id
        engine["calls"] += [(f"{rid}:{d}", k) for d, k in rec.engine_calls]
        rule += [(f"{rid}:{d}", k) for d, k in rec.rule_calls]
        engine["stops"] += [(f"{rid}:{d}", k) for d, k in rec.stops]
        engine["green"] += [(f"{rid}:{d}", k) for d, k in rec.green_stops]
    stops, green = set(engine["stops"]), set(engine["green"])
    planned = {}
    for ahead in PLAN_AHEAD:
        errs = [e for rec in records for e in rec.planned.get(ahead, [])]
        planned[str(ahead)] = {
            "model": _mean(e for e, _ in errs),
            "tyre_age_rule": _mean(r for _, r in errs),
            "stops": len(errs),
        }
    return {
        "model": _prf(set(engine["calls"]), stops, green),
        "tyre_age_rule": _prf(set(rule), stops, green),
        "stops": len(green),
        "planned_lap_mae": planned,
    }


def rejoin_scores(records: list[RaceRecord]) -> dict[str, float | int]:
    """Projected rejoin place within one of the real one, against "the place it had"."""
    errs = np.array([e for rec in records for e in rec.rejoin], float).reshape(-1, 2)
    return {
        "model": _mean(np.abs(errs[:, 0]) <= 1),
        "place_held": _mean(np.abs(errs[:, 1]) <= 1),
        "mae": _mean(np.abs(errs[:, 0])),
        "stops": len(errs),
    }


def position_scores(records: list[RaceRecord]) -> dict[str, dict[str, float]]:
    """Finishing-position MAE at 25/50/75% distance: predicted, "the order now", expected."""
    out = {}
    for p in PCTS:
        e = np.array([x for rec in records for x in rec.positions.get(p, [])], float)
        e = e.reshape(-1, 3)
        out[str(p)] = {"model": _mean(e[:, 0]), "hold": _mean(e[:, 1]), "mean": _mean(e[:, 2])}
    return out


def _pair(pairs: list[tuple[float, float]]) -> dict[str, float]:
    arr = np.asarray(pairs, float).reshape(-1, 2)
    return {"model": _mean(arr[:, 0]), "leader": _mean(arr[:, 1])}


def win_scores(records: list[RaceRecord]) -> dict:
    """Win Brier (every lap, per tenth of the race, at 25/50/75%) against "the leader wins",
    podium Brier, the win ECE and reliability, and the winner's pit-cycle drops."""
    every, probs, hits = [], [], []
    tenth: dict[int, list] = {t: [] for t in range(10)}
    at_pct: dict[int, list] = {p: [] for p in PCTS}
    for rec in records:
        if rec.winner is None:
            continue
        pct_laps = {max(1, round(rec.laps_total * p / 100)): p for p in PCTS}
        for lap, win in rec.win.items():
            model = np.mean([(p - (d == rec.winner)) ** 2 for d, p in win.items()])
            leader = np.mean([float((d == rec.leader[lap]) != (d == rec.winner)) for d in win])
            every.append((model, leader))
            tenth[min(int(10 * lap / rec.laps_total), 9)].append((model, leader))
            if lap in pct_laps:
                at_pct[pct_laps[lap]].append((model, leader))
            probs += list(win.values())
            hits += [d == rec.winner for d in win]
    pod = np.array([(p, float(h)) for rec in records for p, h in rec.podium_pairs]).reshape(-1, 2)
    drops = [r.max_drop for r in records if r.max_drop is not None]
    rel = reliability(np.array(probs), np.array(hits, float), n_bins=10) if probs else None
    return {
        "win_brier_all_laps": _pair(every),
        "win_brier": {str(p): _pair(v) for p, v in at_pct.items() if v},
        "win_brier_by_tenth": {str(t): _pair(v) for t, v in tenth.items() if v},
        "podium_brier": {"model": _mean((pod[:, 0] - pod[:, 1]) ** 2)},
        "win_ece": rel.ece if rel else NAN,
        "reliability": [vars(b) for b in rel.bins] if rel else [],
        "max_pit_cycle_drop": float(np.max(drops)) if drops else NAN,
        "mean_pit_cycle_drop": _mean(drops),
        "pit_cycle_drops": len(drops),
    }
