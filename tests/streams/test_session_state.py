"""The worker's per-session state (strategy.live_state), fed a real race (no broker: pure)."""

from __future__ import annotations

import pytest

from core.settings import get_settings
from replay.timeline import build_timeline
from schemas import LapEvent, StintEvent
from strategy.artifacts import load_models
from strategy.compounds import DRY
from strategy.decisions import recommend
from strategy.live_state import CarState, SessionState, apply_lap, race_state
from strategy.race_state import RaceState
from tests.live_state_utils import follow

SETTINGS = get_settings()


def state_after(year: int, event: str, lap: int) -> tuple[RaceState, dict[str, CarState]]:
    """The race as the worker sees it once every car has completed ``lap``."""
    timeline = build_timeline(year, event, settings=SETTINGS)
    session, cars = follow(timeline.events, timeline.session_key, lap)
    return race_state(session, cars), cars


@pytest.fixture(scope="module")
def monaco_lap_61() -> tuple[RaceState, dict[str, CarState]]:
    # 2023 Monaco: rain from lap 50 or so; by lap 61 the whole field is on intermediates or
    # wets, Verstappen leads Alonso by about 20 s on the same tyres and went on to win.
    return state_after(2023, "Monaco", 61)


def test_pace_comes_from_laps_on_the_same_kind_of_tyre(monaco_lap_61) -> None:
    _, cars = monaco_lap_61
    ver = cars["VER"]
    assert ver.row.compound == "INTERMEDIATE"
    assert ver.compounds_used == ["MEDIUM"]  # intermediates are not a dry compound
    # The dry laps before the rain (about 76 s) are gone; what is left ran on intermediates.
    for c in cars.values():
        if c.row.compound not in DRY and c.clean_recent:
            assert min(c.clean_recent) > 88, (c.driver, c.clean_recent)


def test_the_leader_on_the_same_tyres_is_the_favourite(monaco_lap_61) -> None:
    state, _ = monaco_lap_61
    recs = recommend(state, load_models(SETTINGS.model_dir), n_sims=2000, seed=1)
    assert [r.driver for r in recs[:2]] == ["VER", "ALO"]
    win = {r.driver: r.win_prob for r in recs}
    assert max(win, key=win.__getitem__) == "VER"
    assert win["VER"] > 0.5, win


@pytest.mark.parametrize("late", ["stint after its laps", "in-lap after the next stint"])
def test_tyres_are_the_newest_whatever_topic_comes_first(late: str) -> None:
    """Alonso's stops at 2023 Monaco (laps 54-55, onto intermediates for lap 56), with laps
    and stints (two topics) delivered out of order."""
    timeline = build_timeline(2023, "Monaco", settings=SETTINGS)
    alo = [e for e in timeline.events if getattr(e, "driver", "") == "ALO"]
    laps = {e.lap_number: e for e in alo if isinstance(e, LapEvent)}
    stints = {e.stint: e for e in alo if isinstance(e, StintEvent)}
    if late == "stint after its laps":
        order = [laps[54], stints[2], laps[55], laps[56], laps[57], laps[58], stints[3]]
    else:
        order = [laps[54], stints[2], stints[3], laps[55], laps[56], laps[57], laps[58]]
    session, car = SessionState.new(timeline.session_key), CarState.new("ALO")
    seen = []
    for e in order:
        if isinstance(e, StintEvent):
            car.apply_stint(e)
        else:
            apply_lap(session, car, e)
        seen.append((car.row.stint, car.row.compound, car.row.tyre_age))
    assert seen[-1] == (3, "INTERMEDIATE", 3.0)
    if late == "in-lap after the next stint":
        assert seen[3] == (3, "INTERMEDIATE", 0)
