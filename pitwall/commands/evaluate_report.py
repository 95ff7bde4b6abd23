"""The rolling evaluation on the terminal: a table per group of figures, one row per season,
the mean and the worst season, every figure beside its baselines; then the targets met."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table

from training.targets import check

Row = dict[str, Any]
#: (header, value of a season's row, True when higher is better)
Column = tuple[str, Callable[[Row], Any], bool]

out = Console()


def _get(*path: str) -> Callable[[Row], float]:
    def read(row: Row) -> float:
        x: Any = row
        for key in path:
            x = x.get(key) if isinstance(x, dict) else None
        return float("nan") if x is None else float(x)

    return read


def _worst_tenth(row: Row) -> float:
    ratios = [
        d["model"] / d["leader"]
        for d in row.get("win_brier_by_tenth", {}).values()
        if d.get("leader") and d.get("model") is not None
    ]
    return max(ratios) if ratios else float("nan")


GROUPS: dict[str, list[Column]] = {
    "Lap time (s): model vs the previous lap and an EWMA": [
        ("next-lap", _get("next_lap_mae", "model"), False),
        ("persistence", _get("next_lap_mae", "persistence"), False),
        ("EWMA", _get("next_lap_mae", "ewma"), False),
        ("5-lap", _get("five_lap_mae", "model"), False),
        ("persistence", _get("five_lap_mae", "persistence"), False),
    ],
    "Strategy after lap 5: model vs the circuit's habit and 'one stop'": [
        ("stops = real", _get("stops_match"), True),
        ("habit", _get("baselines", "stops_match", "habit"), True),
        ("one stop", _get("baselines", "stops_match", "one_stop"), True),
        ("sequence in top 3", _get("sequence_top3"), True),
        ("habit's top 3", _get("baselines", "sequence_top3", "habit"), True),
    ],
    "Box calls (dry races): model vs the tyre-age rule": [
        ("F1", _get("box_calls", "model", "f1"), True),
        ("rule F1", _get("box_calls", "tyre_age_rule", "f1"), True),
        ("precision", _get("box_calls", "model", "precision"), True),
        ("recall", _get("box_calls", "model", "recall"), True),
        ("stop lap err -5", _get("box_calls", "planned_lap_mae", "5", "model"), False),
        ("rule", _get("box_calls", "planned_lap_mae", "5", "tyre_age_rule"), False),
        ("-10", _get("box_calls", "planned_lap_mae", "10", "model"), False),
        ("rule", _get("box_calls", "planned_lap_mae", "10", "tyre_age_rule"), False),
    ],
    "Rejoin and finishing position: model vs the place held / the order now": [
        ("rejoin within 1", _get("rejoin_within_1"), True),
        ("place held", _get("baselines", "rejoin_within_1", "place_held"), True),
        ("pos MAE 25%", _get("position_mae", "25", "model"), False),
        ("order now", _get("position_mae", "25", "hold"), False),
        ("50%", _get("position_mae", "50", "model"), False),
        ("order now", _get("position_mae", "50", "hold"), False),
        ("75%", _get("position_mae", "75", "model"), False),
        ("order now", _get("position_mae", "75", "hold"), False),
    ],
    "Win chances: model vs 'the leader wins'": [
        ("Brier, all laps", _get("win_brier_all_laps", "model"), False),
        ("leader wins", _get("win_brier_all_laps", "leader"), False),
        ("worst tenth / leader", _worst_tenth, False),
        ("ECE", _get("win_ece"), False),
        ("podium Brier", _get("podium_brier", "model"), False),
        ("stop drop mean", _get("mean_pit_cycle_drop"), False),
        ("max", _get("max_pit_cycle_drop"), False),
    ],
    "Wet crossover (laps from the top 10's median switch) and battles (Brier, 3 laps)": [
        ("crossover", _get("crossover_lap_error"), False),
        ("first top-10 switch", _get("baselines", "crossover_lap_error", "first_top10"), False),
        ("battles", lambda r: _battle(r, "model_brier"), False),
        ("gap only", lambda r: _battle(r, "baseline_brier"), False),
    ],
}


def _battle(row: Row, key: str) -> float:
    for b in row.get("battles") or []:
        if b.get("horizon") == 3:
            return float(b[key])
    return float("nan")


def _cell(x: float) -> str:
    if math.isnan(x):
        return "-"
    return f"{x:.3f}" if abs(x) < 10 else f"{x:.1f}"


def _summary(rows: list[Row], cols: list[Column]) -> tuple[list[str], list[str]]:
    mean, worst = [], []
    for _h, get, higher in cols:
        vals = [v for v in (get(r) for r in rows) if not math.isnan(v)]
        mean.append(_cell(sum(vals) / len(vals)) if vals else "-")
        worst.append(_cell(min(vals) if higher else max(vals)) if vals else "-")
    return mean, worst


def print_table(title: str, rows: list[Row], cols: list[Column]) -> None:
    table = Table(title=title, title_justify="left")
    table.add_column("season")
    for header, _get_value, _ in cols:
        table.add_column(header, justify="right")
    for r in rows:
        table.add_row(str(r["season"]), *(_cell(get(r)) for _h, get, _ in cols))
    if len(rows) > 1:
        mean, worst = _summary(rows, cols)
        table.add_row("mean", *mean, style="bold")
        table.add_row("worst", *worst, style="bold")
    out.print(table)


def print_targets(rows: list[Row]) -> None:
    table = Table(title="Targets of the strategy issue, per season", title_justify="left")
    table.add_column("target")
    for r in rows:
        table.add_column(str(r["season"]))
    checks = [check(r) for r in rows]
    for i, (name, _met, _shown) in enumerate(checks[0] if checks else []):
        cells = [f"{'met' if c[i][1] else 'NOT met'}: {c[i][2]}" for c in checks]
        table.add_row(name, *cells)
    out.print(table)


def print_report(rows: list[Row]) -> None:
    """Every group of figures, then the targets."""
    for title, cols in GROUPS.items():
        print_table(title, rows, cols)
    print_targets(rows)
