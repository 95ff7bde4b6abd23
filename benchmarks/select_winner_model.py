"""How the winner model's method and hyper-parameters were chosen: walk-forward up to 2023.

Every candidate is back-tested race by race over the selection seasons (each race predicted
by a model trained only on the races before it), for both moments, beside the baselines of
the same run. The candidate with the lowest mean win log-loss over the selection races is
the choice (Brier and top1 shown beside it). Seasons from 2024 on are refused: 2024 is held
out for the figures we report.

    python benchmarks/select_winner_model.py --seasons 2018,2019,2020,2021,2022,2023 \
        [--moment post|pre|both] [--only NAME,...] [--elo]

``--elo`` compares the Elo variants (default K 32/24, K 16/12 and 48/36, no regression to the
mean between seasons) with the fast conditional logit; ``--elo-k48`` runs the candidates with
K 48/36, the variant the conditional logit preferred (the chosen blend scored better with the
default, which stays).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

HELD_OUT_FROM = 2024


def candidates(moment: str) -> dict[str, dict]:
    """name -> (ModelConfig overrides, EloConfig overrides)."""
    small = {"n_estimators": 150, "num_leaves": 7, "min_child_samples": 80}
    smaller = {"n_estimators": 100, "num_leaves": 4, "min_child_samples": 100}
    found = {
        "clogit/harville": {"method": "clogit", "podium": "harville"},
        "clogit/mix": {"method": "clogit", "podium": "mix"},
        "lgbm/lgbm": {"method": "lgbm", "podium": "lgbm"},
        "lgbm-small/lgbm": {"method": "lgbm", "podium": "lgbm", **small},
        "blend/lgbm": {"method": "blend", "podium": "lgbm"},
        "blend/mix": {"method": "blend", "podium": "mix"},
        "blend-small/mix": {"method": "blend", "podium": "mix", **small},
        "blend-small-0.3/mix": {"method": "blend", "podium": "mix", "blend_weight": 0.3, **small},
        "clogit-from2014/mix": {"method": "clogit", "podium": "mix", "train_from": 2014},
        "blend-small-from2014/mix": {
            "method": "blend",
            "podium": "mix",
            "train_from": 2014,
            **small,
        },
        "lgbm-small/mix": {"method": "lgbm", "podium": "mix", **small},
        "lgbm-smaller/lgbm": {"method": "lgbm", "podium": "lgbm", **smaller},
        "lgbm-small-600/lgbm": {
            "method": "lgbm",
            "podium": "lgbm",
            **small,
            "n_estimators": 300,
            "learning_rate": 0.015,
        },
        "blend-small-0.7/mix": {"method": "blend", "podium": "mix", "blend_weight": 0.7, **small},
        "blend-small-hl3/mix": {"method": "blend", "podium": "mix", "half_life": 3.0, **small},
        "blend-small-hl6/mix": {"method": "blend", "podium": "mix", "half_life": 6.0, **small},
        "stack-small/harville": {"method": "stack", "podium": "harville", **small},
        "stack-small/mix": {"method": "stack", "podium": "mix", **small},
    }
    if moment == "pre":
        found = {k: v for k, v in found.items() if not k.startswith("stack")}
    return found


ELO_VARIANTS = {
    "elo-default": {},
    "elo-k16": {"k_driver": 16.0, "k_constructor": 12.0},
    "elo-k48": {"k_driver": 48.0, "k_constructor": 36.0},
    "elo-noregress": {"season_regression_driver": 0.0, "season_regression_constructor": 0.0},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ergast", type=Path, default=None, help="Ergast CSV directory")
    parser.add_argument("--seasons", default="2022,2023")
    parser.add_argument("--moment", choices=["post", "pre", "both"], default="both")
    parser.add_argument("--only", default=None, help="comma-separated candidate names")
    parser.add_argument("--elo", action="store_true", help="also compare Elo variants")
    parser.add_argument(
        "--elo-k48", action="store_true", help="run the candidates with Elo K 48/36"
    )
    args = parser.parse_args()

    from core.settings import get_settings
    from prerace.backtest import walk_forward
    from prerace.features import build_features
    from prerace.history import History
    from prerace.ingest.csv_source import read_directory
    from prerace.metrics import summarize
    from prerace.model import ModelConfig
    from prerace.ratings import EloConfig

    seasons = [int(s) for s in args.seasons.split(",")]
    if max(seasons) >= HELD_OUT_FROM:
        parser.error(f"seasons from {HELD_OUT_FROM} are held out: never select on them")
    directory = args.ergast or get_settings().data_dir / "ergast" / "data"
    history = History.from_tables(read_directory(directory))
    moments = ["post", "pre"] if args.moment == "both" else [args.moment]
    elo_variants = ELO_VARIANTS if args.elo else {"elo-default": {}}
    if args.elo_k48:
        elo_variants = {"elo-k48": ELO_VARIANTS["elo-k48"]}
    lines = []
    for elo_name, elo_over in elo_variants.items():
        table = build_features(history, elo=replace(EloConfig(), **elo_over)).rows
        for moment in moments:
            for name, over in candidates(moment).items():
                if args.only and name not in args.only.split(","):
                    continue
                if args.elo and elo_name != "elo-default" and name != "clogit/mix":
                    continue
                cfg = ModelConfig(moment=moment, **over)
                started = time.monotonic()
                results = [walk_forward(table, s, cfg) for s in seasons]
                per = {k: pd.concat([r.per_race[k] for r in results]) for k in results[0].per_race}
                summary = {k: summarize(v) for k, v in per.items()}
                m = summary["model"]
                base = summary[results[0].baseline_name]
                line = (
                    f"{moment:4} {elo_name:13} {name:26} "
                    + " ".join(f"{k}={m[k]['mean']:.4f}" for k in m)
                    + f"  | {results[0].baseline_name} "
                    + " ".join(f"{k}={base[k]['mean']:.4f}" for k in base)
                    + f"  ({time.monotonic() - started:.0f} s)"
                )
                print(line, flush=True)
                lines.append(line)


if __name__ == "__main__":
    main()
