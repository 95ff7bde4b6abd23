"""The winner model's pure parts on the real Ergast tables: points rules against Ergast's
standings, Elo, calibration, the feature builder (no leak from the future, teams carried over
their renames, the championship order at the opener), the model's per-race sums and its
baseline, the walk-forward evaluation and its metrics."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from prerace import baselines
from prerace.backtest import walk_forward
from prerace.calibration import cap_to_total, harville_top_k, softmax_by_race
from prerace.feature_table import build_features
from prerace.features import POST_FEATURES, PRE_FEATURES
from prerace.history import History
from prerace.ingest.csv_source import ErgastSourceError, read_directory
from prerace.metrics import race_scores, summarize
from prerace.model import ModelConfig, WinnerModel
from prerace.points import race_points, standings
from prerace.ratings import Elo, EloConfig, pairwise_update


@pytest.fixture(scope="module")
def recent(tables) -> History:
    """Seasons 2021-2023 only: enough for a model, quick to walk."""
    return History.from_tables(read_subset(tables, range(2021, 2024)))


def read_subset(tables: dict[str, pd.DataFrame], seasons: range) -> dict[str, pd.DataFrame]:
    races = tables["races"][tables["races"]["season"].isin(list(seasons))]
    ids = set(races["race_id"])
    out = {k: v[v["race_id"].isin(ids)] if "race_id" in v else v for k, v in tables.items()}
    out["races"] = races
    return out


def race_id_of(tables, season: int, rnd: int) -> int:
    r = tables["races"]
    return int(r.loc[(r["season"] == season) & (r["round"] == rnd), "race_id"].iloc[0])


# -- points rules -----------------------------------------------------------------------------
def test_standings_from_the_rules_match_ergast_1991_to_2024(tables) -> None:
    """Every driver's and constructor's points after every race from 1991 equal Ergast's;
    positions too, except between entrants tied on points and on every countback place."""
    races = tables["races"]
    drivers, teams = standings(
        races,
        tables["results"],
        tables["sprint_results"],
        tables["constructors"],
        tables["drivers"],
    )
    meta = races[["race_id", "season", "round"]]
    for mine, theirs, key in (
        (drivers, tables["driver_standings"], "driver_id"),
        (teams, tables["constructor_standings"], "constructor_id"),
    ):
        theirs = theirs.merge(meta, on="race_id")
        theirs = theirs[theirs["season"] >= 1991]
        m = theirs.merge(mine, on=["race_id", key], suffixes=("_ergast", "_rules"), how="left")
        assert m["points_rules"].notna().all(), "an Ergast standings row has no computed twin"
        # McLaren 2007 was excluded and Ergast's running total of its void points is not
        # consistent (Hungary's points missing for three rounds, then back): skip it
        void = m["season"].eq(2007) & (m[key] == 1) & (key == "constructor_id")
        bad = m[((m["points_ergast"] - m["points_rules"]).abs() > 1e-9) & ~void]
        assert bad.empty, bad.head()
        assert (m.loc[~void, "wins_ergast"] == m.loc[~void, "wins_rules"]).all()
        # final standings: every scorer's position (the rules list a few non-starters with no
        # points that Ergast leaves out; a driver excluded from the championship is last)
        last = meta.groupby("season")["round"].transform("max") == meta["round"]
        final = m[m["race_id"].isin(meta.loc[last, "race_id"]) & (m["points_ergast"] > 0)]
        bottom = mine.groupby("race_id")["position"].transform("max") == mine["position"]
        last_rows = set(zip(mine.loc[bottom, "race_id"], mine.loc[bottom, key], strict=True))
        moved = final["position_ergast"] != final["position_rules"]
        for row in final[moved].itertuples(index=False):
            assert (row.race_id, getattr(row, key)) in last_rows, row
        assert moved.sum() <= 1
        # during a season: only complete ties (same points, same record) may swap
        off = m[(m["position_ergast"] != m["position_rules"]) & (m["points_ergast"] > 0)]
        off = off[~off["race_id"].isin(final["race_id"])]
        for (_race, points), group in off.groupby(["race_id", "points_ergast"]):
            assert len(group) >= 2, f"{key} alone at {points} points placed differently"
    assert len(m) > 6000


def test_points_of_special_races() -> None:
    pos = np.array([1, 2, 3, 10, np.nan])
    # 2021 Belgian GP: half points, no fastest-lap point
    assert race_points(2021, 12, pos, np.array([5, 1, 2, 3, 4])).tolist() == [
        12.5, 9.0, 7.5, 0.5, 0.0,
    ]  # fmt: skip
    # 2014 Abu Dhabi: double points
    assert race_points(2014, 19, pos)[:3].tolist() == [50.0, 36.0, 30.0]
    # 2019: the fastest lap scores one only inside the top ten
    assert race_points(2019, 1, pos, np.array([3, 2, 4, 1, 5]))[3] == 2.0
    assert race_points(2019, 1, np.array([1, 11.0]), np.array([2, 1])).tolist() == [25.0, 0.0]
    with pytest.raises(ValueError, match="1991"):
        race_points(1990, 1, pos)


# -- ratings and calibration ------------------------------------------------------------------
def test_elo_is_zero_sum_and_rewards_the_winner() -> None:
    r = np.array([1500.0, 1600.0, 1400.0, 1550.0])
    delta = pairwise_update(r, np.array([3, 1, 2, 4]), k=32)
    assert abs(delta.sum()) < 1e-9
    assert delta[1] > 0 > delta[3]
    elo = Elo()
    elo.start_season(2023)
    elo.update([1, 2, 3], [10, 10, 20], [1, 2, 3])
    assert elo.drivers.get(1) > elo.drivers.get(3)
    assert elo.constructors.get(10) > elo.constructors.get(20)  # rated on the best car


def test_calibration_sums_and_harville_against_enumeration() -> None:
    groups = np.array([1] * 5 + [2] * 4)
    p = softmax_by_race(np.array([2.0, 1, 0, -1, -3, 0.5, 0.5, 0.1, -2]), groups)
    assert np.allclose(np.bincount(groups)[1:], [5, 4])
    assert np.allclose([p[:5].sum(), p[5:].sum()], 1.0)
    podium = cap_to_total(np.array([0.9, 0.9, 0.5, 0.2, 0.1, 1, 1, 1, 1]), groups, 3.0)
    assert np.allclose([podium[:5].sum(), podium[5:].sum()], 3.0) and podium.max() <= 1.0
    win = np.array([0.5, 0.2, 0.15, 0.1, 0.05])
    exact = np.zeros(5)
    for perm in itertools.permutations(range(5), 3):
        prob, left = 1.0, 1.0
        for i in perm:
            prob *= win[i] / left
            left -= win[i]
        exact[list(perm)] += prob
    assert np.allclose(harville_top_k(win, np.zeros(5), 3), exact)


# -- features ---------------------------------------------------------------------------------
def test_features_of_a_race_do_not_see_its_result_or_later_races(tables, recent) -> None:
    race = race_id_of(tables, 2023, 12)
    full = build_features(recent).rows
    cut = build_features(recent.before(race, keep_grid=True)).rows
    # The grid of a race that was run is its starting grid (after penalties, from its
    # results); before the results exist it is the qualifying order. Both are known before
    # the lights; every other column must be identical.
    grid_cols = ["grid", "grid_win_rate", "grid_podium_rate", "front_row", "grid_vs_elo"]
    grid_cols.append("teammate_grid_delta")
    same = [c for c in POST_FEATURES if c not in grid_cols]
    a = full[full["race_id"] == race].set_index("driver_id")
    b = cut[cut["race_id"] == race].set_index("driver_id").loc[a.index]
    pd.testing.assert_frame_equal(a[same], b[same])
    quali = tables["qualifying"]
    quali = quali[quali["race_id"] == race].set_index("driver_id")["position"]
    assert (b["grid"] == quali.loc[b.index]).all()
    # before qualifying nothing of the grid is known, and the entrants come from the last race
    pre = build_features(recent.before(race)).rows
    pre = pre[pre["race_id"] == race]
    assert not pre["grid_known"].any() and pre["grid"].isna().all()
    assert pre[["elo_driver", "elo_team", "form_points", "champ_pos"]].notna().all().all()
    assert set(PRE_FEATURES) <= set(pre.columns)


def test_rows_never_list_entrants_in_finishing_order(recent) -> None:
    rows = build_features(recent).rows
    firsts = rows.groupby("race_id").head(1)
    assert firsts["win"].mean() < 0.5  # sorted by driver, not by result


# -- model, back-test, metrics ----------------------------------------------------------------
def test_model_chances_sum_per_race_and_backtest_trains_on_the_past(tables, recent) -> None:
    rows = build_features(recent).rows
    last_two = [race_id_of(tables, 2023, 21), race_id_of(tables, 2023, 22)]
    cfg = ModelConfig(moment="post")
    model = WinnerModel(cfg).fit(rows[~rows["race_id"].isin(last_two)])
    pred = model.predict(rows[rows["race_id"].isin(last_two)])
    sums = pred.groupby("race_id")[["p_win", "p_podium"]].sum()
    assert np.allclose(sums["p_win"], 1.0) and np.allclose(sums["p_podium"], 3.0)
    assert pred["p_podium"].max() <= 1.0 + 1e-9
    assert model.last_race_id == race_id_of(tables, 2023, 20)
    assert WinnerModel(cfg).fit(rows[~rows["race_id"].isin(last_two)]).version == model.version

    result = walk_forward(rows, 2023, cfg, races=last_two)
    assert result.races == 2
    assert set(result.per_race) == {"model", "grid_slot", "climatology", "pole_wins"}
    for m in ("win_brier", "win_log_loss", "top1", "podium_brier", "top3"):
        s = result.summary()["model"][m]
        assert s["lo"] <= s["mean"] <= s["hi"]
    # each race had its own model, trained without it
    assert result.predictions["model_version"].nunique() == 2
    pre = walk_forward(rows, 2023, replace(cfg, moment="pre"), races=last_two)
    assert pre.contained == "championship"
    assert {"championship", "constructors", "leader_wins", "climatology"} <= set(pre.per_race)


def test_the_model_contains_its_baseline(recent) -> None:
    """With the adjustment held at 0 by its prior, the chances are the baseline's."""
    rows = build_features(recent).rows
    train, test = rows[rows["season"] < 2023], rows[(rows["season"] == 2023) & rows["grid_known"]]
    for moment, base in (("post", baselines.grid_slot), ("pre", baselines.championship)):
        stiff = WinnerModel(ModelConfig(moment=moment, ridge=1e12)).fit(train)
        assert np.allclose(stiff.predict(test)["p_win"], base(test)["p_win"], atol=1e-6)
        free = WinnerModel(ModelConfig(moment=moment)).fit(train)
        assert not np.allclose(free.predict(test)["p_win"], base(test)["p_win"], atol=1e-3)
        assert abs(free.coefficients()["log_base"]) > 0
    # before qualifying, nothing of the grid (the rows of a race run hold it)
    with pytest.raises(ValueError, match="not known pre-qualifying"):
        ModelConfig(moment="pre", adjust=("log_base", "front_row"))


def test_race_scores_by_hand() -> None:
    p_win = np.array([0.6, 0.3, 0.1])
    p_pod = np.array([1.0, 1.0, 1.0])
    s = race_scores(p_win, p_pod, np.array([2, 1, np.nan]))
    assert s["win_brier"] == pytest.approx((0.36 + 0.49 + 0.01) / 3)
    assert s["win_log_loss"] == pytest.approx(-np.log(0.3))
    assert s["top1"] == 0.0 and s["top3"] == 1.0
    tie = race_scores(np.full(4, 0.25), None, np.array([1, 2, 3, 4]))
    assert tie["top1"] == 0.25  # a fair draw among equals
    per = pd.DataFrame({"win_brier": [0.1, 0.2, 0.3]})
    out = summarize(per)["win_brier"]
    assert out["mean"] == pytest.approx(0.2) and out["lo"] < 0.2 < out["hi"]


def test_baselines_sum_like_chances(recent) -> None:
    rows = build_features(recent).rows
    rows = rows[rows["grid_known"] & rows["win"].notna()]
    for forecast in (baselines.grid_slot, baselines.championship, baselines.constructors):
        sums = forecast(rows).groupby("race_id")[["p_win", "p_podium"]].sum()
        assert np.allclose(sums["p_win"], 1.0) and np.allclose(sums["p_podium"], 3.0)
    clim = baselines.climatology(rows).groupby("race_id")["p_win"].sum()
    assert np.allclose(clim, 1.0)
    assert (baselines.pole_wins(rows).groupby("race_id")["p_win"].sum() >= 1).all()


def test_opener_reads_last_seasons_order_and_renamed_teams_keep_their_record(
    tables, full_history
) -> None:
    """At a season's first race the championship order is last season's final one, and a
    team renamed over the winter (Racing Point -> Aston Martin, 2021) keeps its rating."""
    rows = build_features(full_history, since=2020).rows
    opener = rows[rows["race_id"] == race_id_of(tables, 2021, 1)].set_index("driver_id")
    refs = tables["drivers"].set_index("driver_ref")["driver_id"]
    assert opener.loc[refs["hamilton"], "standing"] == 1  # the 2020 champion
    assert opener["champ_pos"].isna().all()  # no point scored yet in 2021
    stroll = opener.loc[refs["stroll"]]
    newcomer = 1500 + EloConfig().newcomer_offset
    assert stroll["elo_team"] > newcomer + 50 and stroll["team_standing"] <= 4
    haas = opener.loc[refs["mick_schumacher"], "elo_team"]
    assert stroll["elo_team"] > haas


def test_a_new_pecking_order_shows_within_a_few_races(tables, full_history) -> None:
    """2022's new rules: Mercedes had won eight constructors' titles in a row, Ferrari and Red
    Bull had the fast cars. Before qualifying at round 4 the pace of the first three races
    has moved the Mercedes drivers behind both Ferrari and Red Bull."""
    rows = build_features(full_history, since=2019).rows
    teams = tables["constructors"].set_index("constructor_ref")["constructor_id"]
    fourth = race_id_of(tables, 2022, 4)
    p = walk_forward(rows, 2022, ModelConfig(moment="pre"), races=[fourth]).predictions
    team = rows[rows["race_id"] == fourth].set_index("driver_id")["constructor_id"]
    by_team = p.groupby(p["driver_id"].map(team))["p_win"].sum()
    assert by_team[teams["mercedes"]] < min(by_team[teams["ferrari"]], by_team[teams["red_bull"]])
    assert by_team[teams["ferrari"]] + by_team[teams["red_bull"]] > 0.7


def test_reader_names_what_is_missing(tmp_path) -> None:
    (tmp_path / "races.csv").write_text("raceId,year,round\n1,2024,1\n")
    with pytest.raises(ErgastSourceError, match=r"results\.csv"):
        read_directory(tmp_path)
