"""The battle forecast on real races: passes on track found where they happened, position
changes through the pits left out, and a model fitted on history that beats the gap alone on
races it never saw."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from schemas import EventTime, decode, encode
from strategy import battles
from strategy.race_state import DriverState, RaceState
from training.battles.backtest import TrainingRun, train_and_backtest
from training.battles.fit import save
from training.history import lap_files, read_laps


@pytest.fixture(scope="module")
def bahrain_pairs(laps_2023: pd.DataFrame) -> pd.DataFrame:
    return battles.pair_frame(laps_2023[laps_2023["race_id"] == "2023-bahrain"])


def test_alonso_passes_in_bahrain_2023_are_found_on_their_laps(bahrain_pairs) -> None:
    alo = bahrain_pairs[bahrain_pairs["behind"] == "ALO"].set_index(["lap", "ahead"])
    # Alonso went past Hamilton on lap 38 and Sainz on lap 45, on track.
    assert alo.loc[(37, "HAM"), "pass_lap"] == 1
    assert alo.loc[(44, "SAI"), "pass_lap"] == 1
    assert alo.loc[(42, "SAI"), "pass_lap"] == 3
    usable, passed = battles.outcome(alo.reset_index(), 3)
    assert passed[usable].sum() >= 5


def test_position_changes_through_the_pits_are_not_passes(bahrain_pairs, laps_2023) -> None:
    race = laps_2023[laps_2023["race_id"] == "2023-bahrain"].set_index(["driver", "lap"])
    # Every window whose first lap is a pit lap of either car is censored, never a pass.
    for row in bahrain_pairs.itertuples():
        nxt = row.lap + 1
        pits = any(
            (d, nxt) in race.index
            and bool(race.loc[(d, nxt), "pit_in"] or race.loc[(d, nxt), "pit_out"])
            for d in (row.ahead, row.behind)
        )
        if pits:
            assert row.cut_lap == 1 and row.pass_lap == 0, row
    usable, _ = battles.outcome(bahrain_pairs, 1)
    assert (~usable).sum() > 0


def test_recent_pace_is_the_median_of_the_last_five_clean_laps(laps_2023) -> None:
    race = laps_2023[laps_2023["race_id"] == "2023-bahrain"]
    pace = battles.recent_pace(race)
    ver = race[race["driver"] == "VER"].assign(pace=pace)
    lap = ver.set_index("lap")
    fc = lap["lap_time"] - 0.055 * (lap["laps_total"] - lap.index)
    # Laps 1-2 ran under yellow, 3-10 clean: after lap 3 one clean lap (no pace yet), after
    # lap 8 the median of laps 4-8.
    assert np.isnan(lap.loc[3, "pace"])
    assert lap.loc[4, "pace"] == pytest.approx(float(np.median(fc.loc[3:4])))
    assert lap.loc[8, "pace"] == pytest.approx(float(np.median(fc.loc[4:8])))


@pytest.fixture(scope="module")
def small_run(data_dir: Path) -> TrainingRun:
    train = read_laps(lap_files(data_dir, [2022, 2023]))
    test = read_laps(lap_files(data_dir, [2024]))
    return train_and_backtest(train, test, rounds=60)


def test_backtest_on_2024_beats_the_gap_alone(small_run) -> None:
    three = next(r for r in small_run.rows if r.horizon == 3)
    assert small_run.test_races == 18 and three.passes > 300
    assert three.model_auc >= 0.75
    assert three.model_brier < three.baseline_brier < three.climatology_brier
    assert three.model_auc > three.baseline_auc


def test_forecast_from_a_race_state(small_run, tmp_path: Path) -> None:
    cars = [
        DriverState("VER", 1, 0.0, "MEDIUM", 20, pace=91.0),
        DriverState("ALO", 2, 0.6, "SOFT", 4, pace=90.2),
        DriverState("HAM", 3, 9.0, "HARD", 25, pace=91.5),
        DriverState("SAI", 4, 9.4, "HARD", 26, pace=91.6, retired=True),
    ]
    state = RaceState("2024-bahrain-R", "bahrain", 2024, 30, 57, "green", cars)
    model = small_run.model
    pairs = battles.forecast(state, model)
    assert [(p.ahead, p.behind) for p in pairs] == [("VER", "ALO"), ("ALO", "HAM")]
    close, far = pairs
    assert close.drs and not far.drs and close.gap == pytest.approx(0.6)
    for p in pairs:
        assert 0 <= p.p_pass_1 <= p.p_pass_3 <= p.p_pass_5 <= 1
    assert close.p_pass_3 > far.p_pass_3
    # Hard to pass at Monaco, easier at Bahrain: the same battle, fitted passing rates.
    monaco = battles.forecast(RaceState("k", "monaco", 2024, 30, 78, "green", cars), model)
    assert model.rate("monaco") < model.rate("bahrain")
    assert monaco[0].p_pass_3 < close.p_pass_3

    event = battles.battles_event(state, model, EventTime(session_time=4000.0))
    back = decode("f1.battles.v1", encode(event))
    assert back.lap == 30 and back.pairs[0].behind == "ALO"

    folder = save(model, tmp_path, {"note": "test"})
    loaded = battles.load(tmp_path)
    assert loaded is not None and loaded.version == folder.name.removeprefix("battles-")
    again = battles.forecast(state, loaded)
    assert [p.p_pass_3 for p in again] == [p.p_pass_3 for p in pairs]
