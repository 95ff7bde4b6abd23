"""Where a car rejoins after a stop, on real 2023 laps: the pit loss, and the cars already in
the pit lane, which still have the out-lap part of their own stop to lose."""

from __future__ import annotations

import pandas as pd
import pytest

from strategy.rejoin import rejoin, rejoins
from training.hazards.pit_loss import fit_out_shares, stop_losses
from training.race_states import RaceTimeline


def test_the_out_lap_share_follows_where_the_line_is(laps_2023: pd.DataFrame) -> None:
    shares = fit_out_shares(stop_losses(laps_2023[~laps_2023["sprint"]]))
    # Monaco's pit boxes are past the line: most of a stop's loss is on the in-lap; at
    # Bahrain the pit lane runs along the straight after the line: most is on the out-lap.
    assert shares["monaco"] < 0.4 < 0.6 < shares["bahrain"]
    assert 0.5 < shares["_all"] < 0.95
    assert all(-0.5 < v < 1.5 for v in shares.values())


def test_a_car_in_the_pit_lane_counts_with_the_rest_of_its_stop(laps_2023: pd.DataFrame) -> None:
    race = laps_2023[laps_2023["race_id"] == laps_2023[laps_2023["event"].str.contains("Bahrain")]
                     ["race_id"].iloc[0]]  # fmt: skip
    stops = race[race["pit_in"] & (race["lap"] > 5)].sort_values("lap")
    timeline = RaceTimeline(race)
    for _, stop in stops.iterrows():
        state = timeline.state_at(float(stop["time"]))  # as the car crosses on its in-lap
        cars = state.running()
        k = next(k for k, c in enumerate(cars) if c.driver == stop["driver"])
        if k == 0 or not cars[k].in_pit:
            continue
        break
    else:
        pytest.fail("no car in the pit lane behind another in 2023 Bahrain")
    ahead = cars[k - 1]
    # the car ahead stops and comes out just behind where the car in the pit lane is now
    gaps = sorted(c.gap_to_leader for c in cars)
    nxt = next((g for g in gaps if g > cars[k].gap_to_leader), cars[k].gap_to_leader + 1.0)
    margin = min(0.5, (nxt - cars[k].gap_to_leader) / 2)
    loss = cars[k].gap_to_leader - ahead.gap_to_leader + margin
    where_it_is = rejoin(state, k - 1, loss, "green")
    assert where_it_is.ahead == cars[k].driver
    # ...but that car still has 80% of its own stop to lose: it will be behind, one place
    # gained (the cars it drops behind were behind the stopping car anyway)
    counted = rejoin(state, k - 1, loss, "green", out_share=0.8)
    assert counted.position == where_it_is.position - 1
    assert counted.ahead != cars[k].driver
    assert counted.gap_behind is not None and counted.gap_behind <= 0.8 * loss - margin + 0.01
    # rejoins() agrees with rejoin() for every car and status
    every = rejoins(state, {"green": loss, "sc": loss / 2}, out_share=0.8)
    assert every[k - 1][0] == counted
    assert every[k - 1][1] == rejoin(state, k - 1, loss / 2, "sc", out_share=0.8)
