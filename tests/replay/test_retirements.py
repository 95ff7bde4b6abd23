"""Retirements in a replay are labelled and timed from what the feed shows: the car's last
crossing of the line, the race-control message that names it, its pit entry on that lap (not
an earlier stop)."""

from __future__ import annotations

import pytest

from core.settings import Settings, get_settings
from replay.timeline import Timeline, build_timeline


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(data_dir=get_settings().data_dir, state_dir=tmp_path_factory.mktemp("state"))


def _retired(timeline: Timeline) -> dict[str, tuple[float, int, str]]:
    return {
        e.driver: (e.event_time.session_time, e.lap, e.reason)
        for e in timeline.events
        if getattr(e, "kind", None) == "car_status"
    }


def _leader_lap_end(timeline: Timeline, lap: int) -> float:
    return min(
        e.event_time.session_time
        for e in timeline.events
        if getattr(e, "type", None) == "lap" and e.lap_number == lap
    )


def test_a_car_stopped_on_track_is_out_when_it_stops(settings: Settings) -> None:
    """RUS's engine failed on lap 18 of the 2023 Australian GP (his last timed lap was 17):
    his retirement comes before the leader's lap 20, not at lap 54, and not "in the pits"
    (his only pit entry was an earlier stop)."""
    timeline = build_timeline(2023, "Australia", "R", settings=settings, use_cache=False)
    when, lap, reason = _retired(timeline)["RUS"]
    assert lap == 17
    assert when < _leader_lap_end(timeline, 20)
    assert reason != "retired in the pits"


def test_a_car_that_stopped_on_track_is_not_labelled_retired_in_the_pits(
    settings: Settings,
) -> None:
    """LEC stopped on track on lap 41 of the 2023 Bahrain GP, after an earlier pit stop."""
    timeline = build_timeline(2023, "Bahrain", "R", settings=settings, use_cache=False)
    when, _lap, reason = _retired(timeline)["LEC"]
    assert reason != "retired in the pits"
    assert when < _leader_lap_end(timeline, 43)
