"""No look-ahead in the back-test: every input of a prediction was known when it was made.

Each rule is checked by truncating the history after race k (or lap n) and asking for the same
prediction, or by checking that nothing was fed before its time.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from strategy.battles import pair_frame
from strategy.wet import TrackConditions
from training.hazards.retirements import car_races, fit_retirements, team_history
from training.history import ergast_tables, lap_files, read_laps
from training.race_states import RaceTimeline
from training.wet.replay import PIT_EXIT_S, follow

SMALL_GRID = {"circuit_prior": (3000.0,), "team_prior": (6000.0,), "C": (0.3,)}


@pytest.fixture(scope="module")
def laps_2024(data_dir: Path) -> pd.DataFrame:
    return read_laps(lap_files(data_dir, [2024]))


@pytest.fixture(scope="module")
def team_rows(data_dir: Path) -> pd.DataFrame:
    cars = car_races(ergast_tables(data_dir))
    return team_history(cars[cars["season"] >= 2020])


def test_retirement_tables_know_nothing_of_the_season_evaluated(team_rows: pd.DataFrame) -> None:
    """Fitted on 2021-2022, the teams' reliability tables are those known before 2023 began:
    the same whether the history goes on to 2024 or stops at the end of 2022."""
    before = team_rows[team_rows["season"] <= 2022]
    full = fit_retirements(team_rows, [2021, 2022], grid=SMALL_GRID)
    cut = fit_retirements(before, [2021, 2022], grid=SMALL_GRID)
    assert full.team_season == cut.team_season and full.team_prev == cut.team_prev
    assert full.field_season == cut.field_season
    assert full.prob("Ferrari", "bahrain", 10) == cut.prob("Ferrari", "bahrain", 10)


def _crossed_by(race: pd.DataFrame, lap: int) -> pd.DataFrame:
    """The race as known when the leader completed ``lap``: rows that ended by then."""
    t = race[race["lap"] == lap]["time"].min()
    return race[race["time"] <= t]


def test_race_states_read_only_the_laps_run_so_far(laps_2024: pd.DataFrame) -> None:
    """Every state of the 2024 Australian GP equals the one built from the laps run by then,
    and a retired car leaves when it stops arriving at the line: VER (brake fire) completed
    lap 4 and is in the race after it, out two laps later."""
    race = laps_2024[laps_2024["circuit"] == "australian"]
    full = RaceTimeline(race)
    for lap in (2, 4, 6, 20, 45):
        cut = RaceTimeline(_crossed_by(race, lap)).state(lap)
        now = full.state(lap)
        assert now is not None and cut is not None
        seen = [(d.driver, d.position, round(d.gap_to_leader, 3), d.compound) for d in now.drivers]
        assert seen == [
            (d.driver, d.position, round(d.gap_to_leader, 3), d.compound) for d in cut.drivers
        ]
    assert "VER" in {d.driver for d in full.state(4).drivers}
    assert "VER" not in {d.driver for d in full.state(6).drivers}


def test_a_car_that_stopped_on_track_is_not_brought_back_by_its_ghost_lap(data_dir: Path) -> None:
    """RUS stopped on lap 18 of the 2023 Australian GP; the timing keeps a lap-18 row with a
    session time 53 minutes later. He is out of the race from lap 19 on, not back at lap 54."""
    race = read_laps(lap_files(data_dir, [2023]))
    race = race[race["circuit"] == "australian"]
    timeline = RaceTimeline(race)
    for lap in (20, 40, 54):
        state = timeline.state(lap)
        assert state is not None and "RUS" not in {d.driver for d in state.drivers}


class _Recorder(TrackConditions):
    """Track conditions that note when each tyre change reached them."""

    fed: list[tuple[str, int]]

    def update_stint(self, driver: str, compound: str | None, first_lap: int) -> None:
        self.fed.append((driver, first_lap))
        super().update_stint(driver, compound, first_lap)


@pytest.mark.parametrize("race_id", ["2024-canadian", "2024-british"])
def test_wet_replay_learns_new_tyres_when_the_car_leaves_the_pits(
    laps_2024: pd.DataFrame, race_id: str
) -> None:
    """At every leader lap the replay has fed no tyre change that the feed could not yet show:
    a car's new compound comes when it leaves the pit lane, not at its in-lap crossing."""
    race = laps_2024[laps_2024["race_id"] == race_id]
    in_laps = race[race["pit_in"]].set_index(["driver", "lap"])["time"]
    tc = _Recorder(laps_total=int(race["lap"].max()))
    tc.fed = []
    checked = 0
    for lap, _status in follow(race, tc):
        t_lap = race[race["lap"] == lap]["time"].min()
        for driver, first_lap in tc.fed:
            crossed = in_laps.get((driver, first_lap - 1))
            if crossed is not None:
                assert crossed + PIT_EXIT_S <= t_lap + 1e-6, (driver, first_lap, lap)
                checked += 1
    assert checked > 0


@pytest.mark.parametrize("circuit", ["canadian", "monaco", "bahrain"])
def test_battle_pace_reads_only_the_laps_run_so_far(laps_2024: pd.DataFrame, circuit: str) -> None:
    """The pairs at the end of lap n, with each car's recent pace, are the same whether the
    race goes on or stops at lap n (a wet start, as in Canada, moves the race's median lap)."""
    race = laps_2024[laps_2024["circuit"] == circuit]
    full = pair_frame(race)
    cols = ["lap", "ahead", "behind", "gap", "pace_ahead", "pace_behind"]
    for lap in (5, 10, 20, 30):
        cut = pair_frame(race[race["lap"] <= lap])
        a = full[full["lap"] == lap][cols].reset_index(drop=True)
        b = cut[cut["lap"] == lap][cols].reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b)
