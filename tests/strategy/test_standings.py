"""The standings rules on real timing data: 2023 Bahrain's laps and its 28,475 timing updates,
merged as the Redis writer merges them, in order and with the timing topic running behind
the laps (what a consumer catching up on a backlog sees: the small laps topic is read up to
the flag while the timing topic is still many laps behind).

Each car shows its own gap, never the car ahead's; at the flag the tower is the official
classification (order, gaps within 0.5 s, lapped cars in laps) however far behind the timing
is; a gap that contradicts a fresher one is marked old. The classification is FastF1's
order with the times of ``ergast/data/results.csv`` (the cached FastF1 results carry
positions but no times: FastF1 takes those from Ergast when it is online).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import pandas as pd
import pytest

from core.settings import Settings, get_settings
from schemas.live import StandingRow
from strategy import standings

LAPS = 57


def official_classification(
    settings: Settings, year: int, event: str
) -> list[tuple[str, float | None, str]]:
    """(driver, gap to the winner in s or None, status such as '+1 Lap') in FastF1's order of
    the race, the times and statuses from Ergast's results."""
    from replay.fastf1_source import load_session

    src = settings.data_dir / "ergast" / "data"
    races = pd.read_csv(src / "races.csv")
    race = races[(races["year"] == year) & (races["name"] == f"{event} Grand Prix")]
    results = pd.read_csv(src / "results.csv", na_values=["\\N"])
    results = results[results["raceId"] == int(race["raceId"].iloc[0])]
    codes = pd.read_csv(src / "drivers.csv").set_index("driverId")["code"]
    status = pd.read_csv(src / "status.csv").set_index("statusId")["status"]
    ergast = {
        str(codes[r.driverId]): (r.milliseconds, str(status[r.statusId]))
        for r in results.itertuples()
    }
    winner = min(ms for ms, _ in ergast.values() if not pd.isna(ms))
    order = load_session(year, event, "R", settings).session.results.sort_values("Position")
    out = []
    for driver in order["Abbreviation"].astype(str):
        ms, text = ergast[driver]
        out.append((driver, None if pd.isna(ms) else (ms - winner) / 1000, text))
    return out


@pytest.fixture(scope="module")
def bahrain():
    from replay.timeline import build_timeline

    settings = get_settings()
    timeline = build_timeline(2023, "Bahrain", settings=settings)
    return timeline, official_classification(settings, 2023, "Bahrain")


class Tower:
    """Rows and the timing line of one session, merged as ``consumers.redis_state`` does."""

    def __init__(self) -> None:
        self.rows: dict[str, StandingRow] = {}
        self.line = standings.RaceLine()
        #: driver -> every gap its own events gave it (timing feed or its crossing of the line)
        self.own: dict[str, set[float]] = {}

    def row(self, driver: str) -> StandingRow:
        return self.rows.setdefault(driver, StandingRow(driver=driver))

    def apply(self, events: Iterable) -> None:
        for e in events:
            if e.type == "lap":
                row = self.row(e.driver)
                standings.apply_lap(row, e, self.line)
            elif e.type == "timing":
                row = self.row(e.driver)
                self.line.seen(e.event_time.session_time)
                standings.apply_timing(row, e)
                if e.gap_to_leader is not None:
                    self.own.setdefault(e.driver, set()).add(e.gap_to_leader)
            elif e.type == "stint":
                standings.apply_stint(self.row(e.driver), e)
            elif e.type == "session" and e.kind == "car_status" and e.driver:
                standings.apply_status(self.row(e.driver), e)
            else:
                continue
            if e.type == "lap" and row.line_gap is not None:
                self.own.setdefault(e.driver, set()).add(row.line_gap)

    def tower(self) -> list[StandingRow]:
        standings.mark_old_gaps(list(self.rows.values()), self.line, LAPS)
        return standings.tower(list(self.rows.values()))


def assert_flag(tower: list[StandingRow], official: list) -> None:
    assert [r.driver for r in tower] == [d for d, _, _ in official]
    lapped = 0
    for row, (driver, gap, status) in zip(tower, official, strict=True):
        if gap is not None:
            assert row.gap_to_leader == pytest.approx(gap, abs=0.5), (driver, row, gap)
            assert not row.gap_old, row
        elif status.startswith("+"):  # '+1 Lap'
            lapped += 1
            assert row.laps_down == int(status[1]) and row.gap_text.startswith(status[:2]), row
    assert lapped == 6  # SAR, MAG, DEV, HUL, ZHO a lap down, NOR two


def assert_own_gaps(t: Tower) -> None:
    for row in t.tower():
        if row.gap_to_leader:
            assert row.gap_to_leader in t.own[row.driver], f"{row.driver} shows a gap not its own"


def test_the_tower_at_the_flag_is_the_classification(bahrain) -> None:
    timeline, results = bahrain
    t = Tower()
    t.apply(timeline.events)
    assert_flag(t.tower(), results)
    assert_own_gaps(t)


def test_gaps_stay_their_own_when_timing_runs_behind_the_laps(bahrain) -> None:
    """Laps read to the flag while the timing topic is still 15 laps behind: the gaps come
    from the line, each car's own; the classification at the flag is right already, and
    stays right once the timing catches up."""
    timeline, results = bahrain
    flag = min(
        e.event_time.session_time
        for e in timeline.events
        if e.type == "lap" and e.lap_number == LAPS
    )
    behind = flag - 15 * 95.0
    timing = [e for e in timeline.events if e.type == "timing"]
    others = [e for e in timeline.events if e.type != "timing"]
    t = Tower()
    t.apply(e for e in timing if e.event_time.session_time < behind)
    t.apply(others)
    assert_flag(t.tower(), results)
    assert_own_gaps(t)
    t.apply(e for e in timing if e.event_time.session_time >= behind)
    assert_flag(t.tower(), results)
    assert_own_gaps(t)


def test_mid_race_gaps_are_own_and_contradictions_are_marked_old(bahrain) -> None:
    """Every 30 s of the race (timing 60 s behind the laps): no gap borrowed, and wherever a
    car's gap is below the car ahead's, one of the two is marked old."""
    timeline, _ = bahrain
    events = sorted(
        timeline.events,
        key=lambda e: e.event_time.session_time - (60.0 if e.type == "timing" else 0.0),
    )
    t = Tower()
    checked = contradictions = 0
    next_check = 0.0
    for e in events:
        t.apply([e])
        now = e.event_time.session_time
        if now < next_check or not t.line.crossings:
            continue
        next_check = now + 30.0
        assert_own_gaps(t)
        running = [r for r in t.tower() if not standings.is_out(r) and r.gap_to_leader]
        running = [r for r in running if not r.laps_down]
        for ahead, row in itertools.pairwise(running):
            if row.gap_to_leader < ahead.gap_to_leader:
                contradictions += 1
                assert row.gap_old or ahead.gap_old, (ahead, row)
        checked += 1
    assert checked > 100 and contradictions > 0


def test_sector_and_lap_marks_follow_the_session_bests(bahrain) -> None:
    timeline, _ = bahrain
    t = Tower()
    t.apply(timeline.events)
    laps = [e for e in timeline.events if e.type == "lap" and not e.deleted and e.lap_time]
    fastest = min(laps, key=lambda e: e.lap_time)
    assert t.line.bests["lap"] == fastest.lap_time
    row = t.rows[fastest.driver]
    assert row.best_lap_time == fastest.lap_time
    for driver, row in t.rows.items():
        own = [e.lap_time for e in laps if e.driver == driver]
        if own:
            assert row.best_lap_time == min(own)
        assert row.sector_marks is None or len(row.sector_marks) == 3
