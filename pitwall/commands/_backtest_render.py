"""The tables of ``pitwall predict backtest``: one row per season and the pooled row, the model
beside the baselines of the same run, as a rich table, Markdown or JSON.

A cell reads ``mean`` or ``mean [lo, hi]`` (95% bootstrap interval, races resampled); the
"model - base" columns are paired differences over the same resampled races.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table

from prerace.backtest import BacktestResult

MOMENT_TITLES = {"pre": "before qualifying", "post": "after qualifying"}
LABELS = {
    "model": "model",
    "grid_slot": "grid slot",
    "pole_wins": "pole wins",
    "championship": "champ. order",
    "constructors": "constr. order",
    "leader_wins": "leader wins",
    "climatology": "climatology",
}
#: (metric, forecasts shown, with the model-minus-contained difference) per moment.
COLUMNS = {
    "post": [
        ("win_brier", ("model", "grid_slot"), True),
        ("win_log_loss", ("model", "grid_slot", "climatology"), True),
        ("top1", ("model", "pole_wins", "grid_slot"), False),
        ("podium_brier", ("model", "grid_slot"), True),
        ("top3", ("model", "grid_slot"), False),
    ],
    "pre": [
        ("win_brier", ("model", "championship", "constructors", "climatology"), True),
        ("win_log_loss", ("model", "championship", "constructors", "climatology"), True),
        ("top1", ("model", "leader_wins"), False),
        ("podium_brier", ("model", "championship", "climatology"), True),
    ],
}
METRIC_NAMES = {
    "win_brier": "win Brier",
    "win_log_loss": "win log-loss",
    "top1": "top 1",
    "podium_brier": "podium Brier",
    "top3": "podium top-3",
}


def fmt(metric: str, s: dict[str, float] | None, interval: bool = False) -> str:
    if not s:
        return "–"

    def f(v: float) -> str:
        if metric in ("top1", "top3"):
            return f"{100 * v:.1f}%"
        return f"{v:.4f}" if "brier" in metric else f"{v:.3f}"

    text = f(s["mean"])
    return f"{text} [{f(s['lo'])}, {f(s['hi'])}]" if interval else text


def _columns(moment: str, metrics: tuple[str, ...] | None) -> list[tuple[str, tuple, bool]]:
    return [c for c in COLUMNS[moment] if metrics is None or c[0] in metrics]


def header(moment: str, metrics: tuple[str, ...] | None = None, sep: str = ": ") -> list[str]:
    cols = ["season", "races"]
    contained = "grid" if moment == "post" else "champ."
    for metric, shown, diff in _columns(moment, metrics):
        cols += [f"{METRIC_NAMES[metric]}{sep}{LABELS[name]}" for name in shown]
        if diff:
            cols.append(f"{METRIC_NAMES[metric]}{sep}model - {contained} [95%]")
    return cols


def rows(result: BacktestResult, metrics: tuple[str, ...] | None = None) -> list[list[str]]:
    """One row per season, then the pooled row (module docstring)."""
    out = []
    for season in [*result.seasons, None]:
        summary = result.summary(season)
        n = len(result.scores(season)["model"])
        cells = ["pooled" if season is None else str(season), str(n)]
        for metric, shown, diff in _columns(result.moment, metrics):
            cells += [fmt(metric, summary[name].get(metric)) for name in shown]
            if diff:
                d = result.versus(result.contained, metric, season)
                cells.append(fmt(metric, d, interval=True))
        out.append(cells)
    return out


#: The metrics of each terminal table (all in one would not fit a terminal's width).
TERMINAL_SPLIT = {
    "post": (("win_brier", "win_log_loss"), ("top1", "podium_brier", "top3")),
    "pre": (("win_brier",), ("win_log_loss",), ("top1", "podium_brier")),
}


def rich_tables(result: BacktestResult) -> list[Table]:
    """The win scores, then top 1 and the podium's, each a table narrow enough for a
    terminal (one row per season and the pooled row)."""
    seasons = result.seasons
    span = f"{seasons[0]}-{seasons[-1]}" if len(seasons) > 1 else str(seasons[0])
    tables = []
    for metrics in TERMINAL_SPLIT[result.moment]:
        columns = _columns(result.moment, metrics)
        if not columns:
            continue
        names = ", ".join(METRIC_NAMES[c[0]] for c in columns)
        t = Table(title=f"{span} walk-forward, {MOMENT_TITLES[result.moment]}: {names}")
        for i, col in enumerate(header(result.moment, metrics, sep="\n")):
            t.add_column(col, justify="left" if i == 0 else "right", no_wrap=True)
        for r in rows(result, metrics):
            t.add_row(*r, style="bold" if r[0] == "pooled" else None)
        tables.append(t)
    return tables


def markdown(result: BacktestResult) -> str:
    head = header(result.moment)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows(result):
        cells = [f"**{c}**" if r[0] == "pooled" else c for c in r]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def checks(result: BacktestResult, markdown: bool = False) -> str:
    """The must-show checks (``BacktestResult.checks``), one line each, and how many pass."""
    done = result.checks()
    lines = [
        f"{'- ' if markdown else ''}{'PASS' if c.passed else 'FAIL'} {c.describe()}" for c in done
    ]
    passed = sum(c.passed for c in done)
    lines.append(f"{passed} of {len(done)} checks pass ({MOMENT_TITLES[result.moment]})")
    return "\n".join(lines)


def as_json(result: BacktestResult) -> dict[str, Any]:
    """Per season and pooled: every forecast's means and intervals, and the model minus the
    contained baseline."""

    def block(season: int | None) -> dict[str, Any]:
        summary = result.summary(season)
        doc: dict[str, Any] = {"races": len(result.scores(season)["model"])}
        doc.update({k: {m: v for m, v in s.items()} for k, s in summary.items()})
        doc["model_minus_" + result.contained] = {
            m: result.versus(result.contained, m, season)
            for m in summary["model"]
            if m in summary[result.contained]
        }
        return doc

    return {
        "moment": result.moment,
        "baseline": result.contained,
        "seasons": {str(s): block(s) for s in result.seasons},
        "pooled": block(None),
        "checks": [
            {
                "metric": c.metric,
                "baseline": c.baseline,
                "season": c.season,
                "model_minus_baseline": c.interval,
                "passed": c.passed,
            }
            for c in result.checks()
        ],
    }
