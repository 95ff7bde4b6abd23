"""The order once the stops under way and owed are made, and the Monte Carlo's stop under way."""

from __future__ import annotations

import numpy as np

from strategy.montecarlo import Field, SimParams, lap_matrix
from strategy.race_state import DriverState, RaceState
from strategy.settled_order import lean_win, settled_gaps, settled_ranks
from strategy.simulation import with_stops_under_way

LOSS, OUT_SHARE = 22.0, 0.8


def _state(*cars: DriverState, lap: int = 16) -> RaceState:
    return RaceState("s", "bahrain", 2023, lap, 57, drivers=list(cars))


def test_the_leader_who_has_stopped_keeps_the_lead_over_the_car_yet_to_stop() -> None:
    # PER leads on the line but still owes the stop VER has made: VER leads once it is made
    state = _state(
        DriverState("PER", 1, 0.0, "SOFT", 19, stops=0, compounds_used=("SOFT",)),
        DriverState("VER", 2, 11.3, "HARD", 1, stops=1, compounds_used=("SOFT", "HARD")),
        DriverState("LEC", 3, 30.0, "HARD", 3, stops=1, compounds_used=("SOFT", "HARD")),
    )
    plans = [((20, "HARD"),), (), ()]
    gaps = settled_gaps(state, plans, LOSS, OUT_SHARE)
    assert list(settled_ranks(gaps)) == [2.0, 1.0, 3.0]
    win = lean_win(np.array([0.6, 0.3, 0.1]), gaps, 0.5)
    assert np.isclose(win.sum(), 1.0) and win[1] > win[0]
    assert np.array_equal(lean_win(np.array([0.6, 0.3, 0.1]), gaps, 0.0), [0.6, 0.3, 0.1])


def test_a_car_in_the_pit_lane_has_made_its_stop_but_not_lost_all_of_it() -> None:
    state = _state(
        DriverState("VER", 1, 0.0, "SOFT", 17, stops=0, compounds_used=("SOFT",), in_pit=True),
        DriverState("PER", 2, 11.0, "SOFT", 16, stops=0, compounds_used=("SOFT",)),
    )
    plans = [((17, "HARD"),), ((20, "HARD"),)]
    gaps = settled_gaps(state, plans, LOSS, OUT_SHARE)
    assert np.allclose(gaps, [LOSS * OUT_SHARE, 11.0 + LOSS])  # VER ahead by 4.6 s


def test_the_monte_carlo_does_not_make_the_stop_under_way_twice() -> None:
    state = _state(
        DriverState("VER", 1, 0.0, "SOFT", 17, in_pit=True),
        DriverState("PER", 2, 11.0, "SOFT", 16),
    )
    plans = with_stops_under_way(state, [((18, "HARD"), (40, "MEDIUM")), ((20, "HARD"),)])
    assert plans == [((16, "HARD"), (40, "MEDIUM")), ((20, "HARD"),)]
    field = Field.build(np.array([90.0, 90.0]), np.zeros(2), ["SOFT", "SOFT"],
                        np.array([17.0, 16.0]), plans)  # fmt: skip
    slopes = np.array([0.1, 0.06, 0.04, 0.0, 0.0])
    params = SimParams(57, 16, LOSS, 0.0, 0.0, np.zeros(5), slopes)
    base, pit = lap_matrix(field, params)
    assert pit[:, 0].sum() == 1 and pit[40 - 17, 0] == 1  # only the later stop is made
    assert pit[:, 1].sum() == 1
    # on the new hard set from the first lap: the soft's wear is gone
    assert base[0, 0] < base[0, 1]


def test_the_lean_follows_the_part_of_the_race() -> None:
    from strategy.settled_order import at_progress

    weights = tuple(i / 10 for i in range(10))
    assert at_progress(weights, 0.0) == 0.0 and at_progress(weights, 0.55) == 0.5
    assert at_progress(weights, 1.0) == 0.9 and at_progress((), 0.5) == 0.0
