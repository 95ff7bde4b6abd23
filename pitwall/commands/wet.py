"""``pitwall wet backtest`` and ``pitwall wet episodes``: the wet-weather crossover advice
measured on real races, and the races' switches between slicks, inters and wets."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import MofNCompleteColumn, Progress
from rich.table import Table

from core.settings import get_settings

if TYPE_CHECKING:
    import pandas as pd

console = Console(stderr=True)
app = typer.Typer(
    help="Wet-weather crossovers: when to switch between slicks, intermediates and wets.",
    no_args_is_help=True,
)
SEASONS = range(2018, 2025)  # the lap CSVs of the data directory
NAMES = {
    "model": "model",
    "model_lap_times_only": "model, lap times only",
    "first_faster": "first car faster",
    "follow_field": "follow the field",
}


def _progress() -> Progress:
    return Progress(*Progress.get_default_columns(), MofNCompleteColumn(), console=console)


def _read_laps(data_dir: Path) -> pd.DataFrame:
    from training.history import lap_files, read_laps

    try:
        with console.status("reading the lap CSVs"):
            laps = read_laps(lap_files(data_dir, SEASONS))
    except (FileNotFoundError, ValueError) as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    return laps[~laps["sprint"]]


def _extra_laps(path: Path) -> pd.DataFrame:
    """A lap table from a lap CSV, or from a FastF1 laps parquet and its session metadata."""
    import pandas as pd

    from strategy.laptable import finish_laps, lap_table
    from training.history import read_laps

    if not path.exists():
        raise typer.BadParameter(f"{path} does not exist", param_hint="--laps")
    try:
        if path.suffix != ".parquet":
            return read_laps([path])
        meta_path = path.parent / "session_metadata.parquet"
        if not meta_path.exists():
            raise ValueError(f"{path}: needs {meta_path.name} beside it (season, round, event)")
        meta = pd.read_parquet(meta_path)
        races = meta[meta.get("session_type", pd.Series("", index=meta.index)) == "Race"]
        row = (races if len(races) else meta).iloc[0]
        raw = pd.read_parquet(path)
        raw["RoundNumber"] = int(row["round_number"])
        return finish_laps(lap_table(raw, int(row["season"]), event=str(row["event_name"])))
    except (ValueError, KeyError, OSError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--laps") from None


def _weather(path: Path) -> list[tuple[float, bool | None, float | None]]:
    """(session time s, rainfall, track temperature) samples from a weather export."""
    import pandas as pd

    if not path.exists():
        raise typer.BadParameter(f"{path} does not exist", param_hint="--weather")
    w = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    if "Time" not in w:
        raise typer.BadParameter(f"{path}: no Time column", param_hint="--weather")
    t = w["Time"]
    t = t.astype(float) if t.dtype.kind in "fi" else pd.to_timedelta(t).dt.total_seconds()
    rain = w["Rainfall"] if "Rainfall" in w else pd.Series(None, index=w.index)
    temp = w["TrackTemp"] if "TrackTemp" in w else pd.Series(None, index=w.index)
    return [
        (float(a), None if pd.isna(b) else bool(b), None if pd.isna(c) else float(c))
        for a, b, c in zip(t, rain, temp, strict=True)
    ]


def _fmt(x: float | None, digits: int = 2) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _lap(score: Any) -> str:
    return str(score.advised) if score.advised is not None else f"never (>{score.scan_end})"


@app.command("backtest")
def backtest(
    races: Annotated[
        list[str] | None,
        typer.Option(
            "--races",
            "--race",
            help="Only these races, e.g. '2024 Canada' or 2023-monaco (repeatable). Default: "
            "the training races and the held-out 2024 Canada and Britain.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Write one JSON object to stdout instead of tables.")
    ] = False,
    refit: Annotated[
        bool,
        typer.Option(
            "--fit",
            help="Search the model's parameters and the baselines' thresholds on the training "
            "races first (about 15 min) instead of using the fitted defaults.",
        ),
    ] = False,
    model_dir: Annotated[
        Path | None, typer.Option(help="Model directory (pit loss per circuit).")
    ] = None,
    extra_laps: Annotated[
        list[Path] | None,
        typer.Option(
            "--laps",
            help="More races: a lap CSV like the data directory's, or a FastF1 laps parquet "
            "with session_metadata.parquet beside it (e.g. telemetry/aus2025/session/"
            "laps_Race.parquet); its races are back-tested too.",
        ),
    ] = None,
    weather: Annotated[
        Path | None,
        typer.Option(
            help="Weather samples (parquet or CSV: Time in session seconds, Rainfall, "
            "TrackTemp) of the race(s) given with --laps.",
        ),
    ] = None,
) -> None:
    """Back-test the crossover advice on the wet and mixed races of the lap CSVs.

    Each race is replayed lap by lap; for every switch episode (the field moving from slicks
    to inters or wets, or back) the lap the engine first advises the switch, on what it knew
    at the end of the leader's previous lap, is set against the median in-lap of the top 10.
    Prints the error per episode and `crossover_lap_error` (mean absolute laps) on training
    races and on held-out 2024, beside two naive baselines from the same replay ("switch
    when a car that switched is faster", "switch when k cars have switched"), and the false
    calls (advice to leave the tyres the whole field stays on).
    """
    from strategy.artifacts import load_models
    from strategy.wet.families import WetParams
    from training.wet import backtest as bt

    settings = get_settings()
    laps = _read_laps(settings.data_dir)
    models = load_models(model_dir or settings.model_dir)
    laps, added = _with_extra_laps(laps, extra_laps or [])
    samples = _weather(weather) if weather else []
    if samples and not added:
        raise typer.BadParameter("weather is for the races of --laps", param_hint="--weather")
    chosen, skipped = _chosen_races(laps, races, added)
    splits = _splits(laps, chosen, models.pit_loss, added, samples)
    params, faster_by, cars = WetParams(), *bt.BASELINE_FIT
    fitted = _fit(laps, models.pit_loss) if refit else None
    if fitted is not None:
        params, faster_by, cars = fitted.params, fitted.faster_by, fitted.cars
    results = _evaluate(splits, params, faster_by, cars)
    report = bt.report(results, params, faster_by, cars, skipped)
    if fitted is not None:
        report["fit"] = {
            "searched": fitted.searched,
            "train": {k: vars(v) for k, v in fitted.train.items()},
        }
    if as_json:
        print(json.dumps(report, indent=2))
        return
    _print_report(results, report)


def _with_extra_laps(laps: pd.DataFrame, files: list[Path]) -> tuple[pd.DataFrame, list[str]]:
    """The laps with the races of ``files`` (--laps) in place of any the CSVs hold; and those
    races."""
    import pandas as pd

    if not files:
        return laps, []
    more = [_extra_laps(p) for p in files]
    added = sorted({r for t in more for r in t["race_id"].unique()})
    return pd.concat([laps[~laps["race_id"].isin(added)], *more], ignore_index=True), added


def _chosen_races(
    laps: pd.DataFrame, races: list[str] | None, added: list[str]
) -> tuple[list[str], dict[str, str]]:
    """The races to back-test (``races``, or the known ones and ``added``) less the excluded
    ones, and why those are excluded; exit code 2 when nothing is left."""
    from training.wet import backtest as bt
    from training.wet import replay

    known = [*bt.TRAINING, *bt.EXTRA_TRAINING, *bt.HELD_OUT]
    try:
        chosen = replay.resolve_races(laps, races) if races else [*known, *added]
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--races") from None
    skipped = {r: why for r, why in bt.EXCLUDED.items() if r in chosen}
    chosen = [r for r in chosen if r not in bt.EXCLUDED]
    if not chosen:
        console.print("[red]Every race chosen is excluded:[/] " + "; ".join(skipped.values()))
        raise typer.Exit(2)
    return chosen, skipped


def _splits(
    laps: pd.DataFrame, chosen: list[str], pit_loss: Any, added: list[str], samples: list
) -> list[tuple[Any, str]]:
    """Each chosen race's inputs (the --weather samples on the races of --laps), with its
    split: held-out (the held-out races, and 2024 on) or train."""
    from training.wet import backtest as bt
    from training.wet import replay

    inputs = replay.race_inputs(laps, chosen, pit_loss)
    for race in inputs:
        if race.race_id in added:
            race.weather = samples
    held = set(bt.HELD_OUT)
    return [(r, "held-out" if r.race_id in held or r.race_id >= "2024" else "train")
            for r in inputs]  # fmt: skip


def _evaluate(splits: list[tuple[Any, str]], params: Any, faster_by: Any, cars: Any) -> list:
    """Replay every race with the model and the baselines, with a progress bar."""
    from training.wet import backtest as bt

    with _progress() as bar:
        task = bar.add_task("races", total=len(splits))
        return bt.evaluate(
            splits, params, faster_by, cars,
            progress=lambda r: bar.update(task, advance=1, description=r),
        )  # fmt: skip


def _fit(laps: pd.DataFrame, pit_loss: Any) -> Any:
    """Search the model's parameters and the baselines' thresholds on the training races."""
    from training.wet import backtest as bt
    from training.wet import replay

    train_ids = [r for r in (*bt.TRAINING, *bt.EXTRA_TRAINING) if r not in bt.EXCLUDED]
    train = replay.race_inputs(laps, train_ids, pit_loss)
    with _progress() as bar:
        task = bar.add_task("fitting", total=len(train))
        return bt.fit(train, progress=lambda r: bar.update(task, advance=1, description=r))


def _print_report(results: list, report: dict[str, Any]) -> None:
    out = Console()
    table = Table(title="Switch episodes: first advised in-lap against the top-10 median")
    for col in ("race", "split", "switch", "laps", "top-10 median"):
        table.add_column(col)
    for name in NAMES.values():
        table.add_column(name, justify="right")
    for r in results:
        for i, score in enumerate(r.scores["model"]):
            e = score.episode
            if e.kind not in ("to_wet", "to_dry"):
                continue
            cells = []
            for name in NAMES:
                s = r.scores[name][i]
                cells.append(f"{_lap(s)} ({s.error:+.1f})".replace("+", ""))
            table.add_row(
                r.race_id, r.split, e.label().split(" ", 3)[-1], f"{e.first_lap}-{e.last_lap}",
                _fmt(e.median_lap, 1), *cells,
            )  # fmt: skip
    out.print(table)
    summary = Table(title="crossover_lap_error (mean absolute laps; target on held-out: <= 2)")
    for col in ("split", "episodes", *(f"{n}" for n in NAMES.values())):
        summary.add_column(col, justify="right")
    for split in ("train", "held_out"):
        row = report["summary"][split]
        if not row["model"]["episodes"]:
            continue
        cells = [
            f"{_fmt(row[n]['error'])} ({row[n]['within_2']:.0%} <= 2, "
            f"{row[n]['missed']} missed, {row[n]['false_calls']} false calls)"
            for n in NAMES
        ]
        summary.add_row(split.replace("_", "-"), str(row["model"]["episodes"]), *cells)
    out.print(summary)
    others = [e for e in report["episodes"] if e["kind"] not in ("to_wet", "to_dry")]
    if others:
        out.print(
            "Between inters and wets (not in crossover_lap_error): "
            + "; ".join(
                f"{e['race']} {e['kind']} top-10 {e['top10_median']}, model "
                f"{e['model']['lap']} ({_fmt(e['model']['error'], 1)})"
                for e in others
            )
        )
    quiet = [r for r in report["races"] if not r["episodes"]]
    if quiet:
        out.print(
            "No field switch (false calls only): "
            + ", ".join(f"{r['race']} (model {r['false_calls']['model']})" for r in quiet)
        )
    for race, why in report["excluded"].items():
        out.print(f"Excluded {race}: {why}")
    p = report["params"]
    out.print("Parameters: " + ", ".join(f"{k}={v}" for k, v in p.items()))
    b = report["baselines"]
    out.print(
        f"Baselines: first car faster by {b['first_faster_s']} s; "
        f"follow the field after {b['follow_field_cars']} cars"
    )


@app.command("episodes")
def list_episodes() -> None:
    """List every race of the lap CSVs (2018-2024) where the field switched tyre family: the
    laps, how many cars switched, and the top-10 cars' in-laps."""
    from training.wet.episodes import episodes

    laps = _read_laps(get_settings().data_dir)
    table = Table(title="Switch episodes in the lap CSVs")
    for col in ("race", "laps", "switch", "cars", "top-10 median", "top-10 in-laps"):
        table.add_column(col)
    for _, race in laps.groupby("race_id"):
        for e in episodes(race):
            note = " (red flag)" if e.red_flag else ""
            table.add_row(
                e.race_id, f"{e.first_lap}-{e.last_lap}", e.label().split(" ", 3)[-1] + note,
                f"{e.movers}/{e.running}", _fmt(e.median_lap, 1),
                " ".join(f"{d} {lap}" for d, lap in sorted(e.top10.items(), key=lambda x: x[1])),
            )  # fmt: skip
    Console().print(table)
