"""The strategy engine's targets on seasons it never saw, checked on a rolling-evaluation row.

Each target compares the engine with the naive baselines of the same run (the figures of
``training.evaluate``), so that a season of easier races cannot flatter it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Row = dict[str, Any]


@dataclass(frozen=True)
class Target:
    name: str
    check: Callable[[Row], tuple[bool, str]]


def _num(x: Any) -> float:
    return float("nan") if x is None else float(x)


def _lap_mae(r: Row) -> tuple[bool, str]:
    nxt, five = r["next_lap_mae"], r["five_lap_mae"]
    best = min(_num(nxt["persistence"]), _num(nxt["ewma"]))
    a = _num(nxt["model"]) / best
    b = _num(five["model"]) / _num(five["persistence"])
    return a <= 0.95 and b <= 0.85, f"{a:.2f}x / {b:.2f}x"


def _stops(r: Row) -> tuple[bool, str]:
    model = _num(r["stops_match"])
    best = max(_num(v) for v in r["baselines"]["stops_match"].values())
    return model >= 0.75 and model - best >= 0.10, f"{model:.0%} vs {best:.0%}"


def _sequence(r: Row) -> tuple[bool, str]:
    model = _num(r["sequence_top3"])
    habit = _num(r["baselines"]["sequence_top3"]["habit"])
    return model >= 0.60 and model - habit >= 0.10, f"{model:.0%} vs {habit:.0%}"


def _box(r: Row) -> tuple[bool, str]:
    m = _num(r["box_calls"]["model"]["f1"])
    b = _num(r["box_calls"]["tyre_age_rule"]["f1"])
    return m > b, f"{m:.2f} vs {b:.2f}"


def _rejoin(r: Row) -> tuple[bool, str]:
    v = _num(r["rejoin_within_1"])
    return v >= 0.90, f"{v:.0%}"


def _win_brier(r: Row) -> tuple[bool, str]:
    tenths = r["win_brier_by_tenth"]
    worse = [t for t, d in tenths.items() if _num(d["model"]) >= _num(d["leader"]) > 0]
    # a tenth where "the leader wins" is perfect (0) cannot be beaten: model must match it
    level = [t for t, d in tenths.items() if _num(d["leader"]) == 0 and _num(d["model"]) > 0.001]
    bad = sorted(set(worse) | set(level), key=int)
    return not bad, "all tenths" if not bad else f"not in tenths {','.join(bad)}"


def _ece(r: Row) -> tuple[bool, str]:
    v = _num(r["win_ece"])
    return v <= 0.02, f"{v:.3f}"


def _drop(r: Row) -> tuple[bool, str]:
    mean, worst = _num(r["mean_pit_cycle_drop"]), _num(r["max_pit_cycle_drop"])
    return mean <= 0.15 and worst <= 0.40, f"mean {mean:.2f}, max {worst:.2f}"


def _positions(r: Row) -> tuple[bool, str]:
    at = r["position_mae"]
    ok = all(_num(at[p]["model"]) < _num(at[p]["hold"]) for p in ("25", "50", "75"))
    shown = " ".join(f"{_num(at[p]['model']):.2f}/{_num(at[p]['hold']):.2f}" for p in at)
    return ok, shown


def _wet(r: Row) -> tuple[bool, str]:
    eps = r.get("crossover_episodes") or []
    if not eps:
        return True, "no wet episode"
    bad = [e for e in eps if e["model"] is None or e["model"] > 2]
    return not bad, f"{len(eps) - len(bad)}/{len(eps)} within 2 laps"


TARGETS = (
    Target("next-lap <= 0.95x best naive, 5-lap <= 0.85x persistence", _lap_mae),
    Target("stop count >= 75% and >= 10 pts above best naive", _stops),
    Target("sequence in top 3 >= 60% and >= 10 pts above habit", _sequence),
    Target("box-call F1 above the tyre-age rule", _box),
    Target("rejoin within one place >= 90%", _rejoin),
    Target("win Brier below 'leader wins' at every tenth", _win_brier),
    Target("win ECE <= 0.02", _ece),
    Target("winner's pit-cycle drop: mean <= 0.15, none > 0.40", _drop),
    Target("position MAE below 'order now' at 25/50/75%", _positions),
    Target("wet crossover within 2 laps on every episode", _wet),
)


def check(row: Row) -> list[tuple[str, bool, str]]:
    """(target, met, the figures behind it) for one season's row."""
    out = []
    for t in TARGETS:
        try:
            met, shown = t.check(row)
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            met, shown = False, "not measured"
        out.append((t.name, met, shown))
    return out
