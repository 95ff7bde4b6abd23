"""How the winner model's settings were chosen: rolling walk-forward over 2014-2022 only.

Every candidate is back-tested race by race over the selection seasons (each race predicted by
a model trained only on the races before it), for both moments, beside the baseline it
contains (the grid slot after qualifying, the championship order before it) in the same run.
The criterion is the pooled win log-loss; Brier, top 1, podium Brier, the worst season's
gain over the baseline and the log-loss over the first eight rounds of the new-rules seasons
(2014, 2017, 2022: how fast a new pecking order shows) are printed beside it. Seasons from
2023 on are refused: 2023-2024 are read once, at the end (``pitwall predict backtest``).

    python benchmarks/select_winner_model.py [--seasons 2014-2022] [--group model|features|speed]
        [--moment post|pre|both] [--only NAME,...]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

HELD_OUT_FROM = 2023
NEW_RULES = (2014, 2017, 2022)

#: name -> ModelConfig overrides ("add"/"drop": adjustment features), per group.
MODEL = {
    "chosen": {},
    "ridge 1": {"ridge": 1.0},
    "ridge 10": {"ridge": 10.0},
    "ridge 30": {"ridge": 30.0},
    "ridge 100": {"ridge": 100.0},
    "winner only (ranks 1)": {"ranks": 1},
    "top 2 (ranks 2)": {"ranks": 2},
    "top 3 (ranks 3)": {"ranks": 3},
    "top 3, later places weight 1": {"ranks": 3, "place_weight": 1.0},
    "top 3, later places weight 0.25": {"ranks": 3, "place_weight": 0.25},
    "trained from 2000": {"train_from": 2000},
    "trained from 2008": {"train_from": 2008},
    "seasons half-life 5": {"half_life": 5.0},
    "seasons half-life 10": {"half_life": 10.0},
    "podium Harville": {"podium": "harville"},
    "podium logit": {"podium": "logit"},
}
FEATURES = {
    "chosen": {},
    "+ quali shares": {"add": ["team_quali_share", "drv_quali_share"]},
    "+ finish shares": {"add": ["team_finish_share", "drv_finish_share"]},
    "+ standing rate": {"add": ["log_standing_win_rate"]},
    "+ front row, Q1 gap": {"add": ["front_row", "quali_gap_q1"]},
    "+ form (last 5), team form": {"add": ["form_points", "team_form_best"]},
    "+ circuit record": {"add": ["circuit_pos", "team_circuit_best"]},
    "- pole": {"drop": ["pole"]},
    "- pole x circuit": {"drop": ["log_base_x_pole"]},
    "- Elo": {"drop": ["elo_driver_gap", "elo_team_gap", "elo_sum_gap"]},
    "- team quali gap": {"drop": ["team_quali_gap"]},
    "- points shares": {"drop": ["drv_points_share", "team_points_share"]},
    "- finish shares (pre)": {"drop": ["team_finish_share", "drv_finish_share"]},
    "- quali shares (pre)": {"drop": ["team_quali_share", "drv_quali_share"]},
    "- constructors' rate (pre)": {"drop": ["log_team_standing_win_rate"]},
}
#: name -> (FeatureConfig overrides, EloConfig overrides): how fast the state follows races.
SPEED = {
    "chosen (pace half-life 2, carry 0.2)": ({}, {}),
    "pace half-life 1.5": ({"pace_half_life": 1.5}, {}),
    "pace half-life 3, carry 0.5": ({"pace_half_life": 3.0, "season_carry": 0.5}, {}),
    "pace half-life 6, carry 1": ({"pace_half_life": 6.0, "season_carry": 1.0}, {}),
    "pace carry 0.5": ({"season_carry": 0.5}, {}),
    "Elo K 48/36": ({}, {"k_driver": 48.0, "k_constructor": 36.0}),
    "Elo K 16/12": ({}, {"k_driver": 16.0, "k_constructor": 12.0}),
    "Elo teams regress 0.6 a winter": ({}, {"season_regression_constructor": 0.6}),
    "Elo K x2 at a season's start": ({}, {"early_boost": 1.0}),
    "Elo K x4 at a season's start": ({}, {"early_boost": 3.0}),
}


def line(result, name: str, moment: str, seconds: float) -> str:
    """One candidate's pooled figures beside its contained baseline's."""
    s = result.summary()
    model, base = s["model"], s[result.contained]
    d = result.versus(result.contained, "win_log_loss")
    worst = max(result.versus(result.contained, "win_log_loss", y)["mean"] for y in result.seasons)
    scores = result.scores()
    rnd = result.predictions.drop_duplicates("race_id").set_index("race_id")["round"]
    early = [
        f[f["season"].isin(NEW_RULES) & (f["race_id"].map(rnd) <= 8)]["win_log_loss"].mean()
        for f in (scores["model"], scores[result.contained])
    ]
    top1_ref = s["pole_wins" if moment == "post" else "leader_wins"]["top1"]["mean"]
    return (
        f"{moment:4} {name:38} log-loss {model['win_log_loss']['mean']:.4f} "
        f"(base {base['win_log_loss']['mean']:.4f}, d {d['mean']:+.3f} [{d['lo']:+.3f}, "
        f"{d['hi']:+.3f}], worst season {worst:+.3f}) Brier {model['win_brier']['mean']:.5f} "
        f"(base {base['win_brier']['mean']:.5f}) top1 {model['top1']['mean']:.3f} "
        f"(pole/leader {top1_ref:.3f}) podium Brier {model['podium_brier']['mean']:.5f} "
        f"(base {base['podium_brier']['mean']:.5f}) new rules r1-8 {early[0]:.3f} "
        f"(base {early[1]:.3f}) ({seconds:.0f} s)"
    )


def config_for(moment: str, over: dict, features):
    """A ModelConfig from a candidate's overrides (``add``/``drop`` edit the features)."""
    from prerace.model import ADJUST, ModelConfig

    over = dict(over)
    add, drop = over.pop("add", []), set(over.pop("drop", []))
    if drop and not drop & set(ADJUST[moment]) and not add:
        raise ValueError(f"nothing to drop {moment}")
    if add or drop:
        cols = [c for c in ADJUST[moment] if c not in drop] + list(add)
        over["adjust"] = tuple(dict.fromkeys(cols))
    return ModelConfig(moment=moment, features=features, **over)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ergast", type=Path, default=None, help="Ergast CSV directory")
    parser.add_argument("--seasons", default="2014-2022")
    parser.add_argument("--group", choices=["model", "features", "speed"], default="model")
    parser.add_argument("--moment", choices=["post", "pre", "both"], default="both")
    parser.add_argument("--only", default=None, help="comma-separated candidate names")
    args = parser.parse_args()

    from core.settings import get_settings
    from pitwall.commands._options import season_list
    from prerace.backtest import walk_forward
    from prerace.feature_table import build_features
    from prerace.features import FeatureConfig
    from prerace.history import History
    from prerace.ingest.csv_source import read_directory

    seasons = season_list(args.seasons)
    if max(seasons) >= HELD_OUT_FROM:
        parser.error(f"seasons from {HELD_OUT_FROM} are held out: never select on them")
    directory = args.ergast or get_settings().data_dir / "ergast" / "data"
    history = History.from_tables(read_directory(directory))
    moments = ["post", "pre"] if args.moment == "both" else [args.moment]
    base = FeatureConfig()
    if args.group == "speed":
        grid = {
            k: (replace(base, **f, elo=replace(base.elo, **e)), {}) for k, (f, e) in SPEED.items()
        }
    else:
        grid = {k: (base, v) for k, v in (MODEL if args.group == "model" else FEATURES).items()}
    tables: dict = {}
    for name, (features, over) in grid.items():
        if args.only and name not in args.only.split(","):
            continue
        if features not in tables:
            tables[features] = build_features(history, config=features).rows
        for moment in moments:
            try:
                cfg = config_for(moment, over, features)
            except ValueError:
                continue
            started = time.monotonic()
            result = walk_forward(tables[features], seasons, cfg)
            print(line(result, name, moment, time.monotonic() - started), flush=True)


if __name__ == "__main__":
    main()
