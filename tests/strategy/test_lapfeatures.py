"""The lap-time model's one feature builder: the worker's path and the training path agree.

The worker builds each car's features as its laps arrive (``strategy.live_state``); training
and the back-test build them from a lap table (``training.laptime.anchor_table``). Fed the same
real laps (2023 Monaco as the replay publishes them), every feature of every lap must be the
same, and the worker's, computed the moment each lap arrives, show that nothing looks ahead.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.settings import get_settings
from replay.timeline import build_timeline
from schemas import LapEvent, SessionEvent, StintEvent
from strategy.lapfeatures import ANCHOR_FEATURES, FieldPace, RaceContext, anchor_features
from strategy.laptable import laps_from_events
from strategy.live_state import CarState, SessionState, apply_lap
from tests.live_state_utils import follow
from training.laptime import anchor_table

SETTINGS = get_settings()
CIRCUIT_CODE = 7


@pytest.fixture(scope="module")
def monaco():
    return build_timeline(2023, "Monaco", settings=SETTINGS)


def test_worker_and_training_build_the_same_features(monaco) -> None:
    session = SessionState.new(monaco.session_key)
    cars: dict[str, CarState] = {}
    live: dict[tuple[str, int], list[float]] = {}
    for e in monaco.events:
        if isinstance(e, SessionEvent):
            session.apply_session(e)
        elif isinstance(e, StintEvent):
            cars.setdefault(e.driver, CarState.new(e.driver)).apply_stint(e)
        elif isinstance(e, LapEvent):
            car = cars.setdefault(e.driver, CarState.new(e.driver))
            if apply_lap(session, car, e):
                # what the worker knows the moment this lap arrives
                field = FieldPace({d: c.laps for d, c in cars.items() if len(c.laps)})
                ctx = RaceContext(CIRCUIT_CODE, session.laps_total or 78)
                i = len(car.laps) - 1
                live[(e.driver, e.lap_number)] = anchor_features(car.laps, e.driver, i, field, ctx)
    laps = [e for e in monaco.events if isinstance(e, LapEvent)]
    table = anchor_table(
        laps_from_events(laps, 2023, "Monaco Grand Prix"), {"monaco": CIRCUIT_CODE}
    )
    assert len(table) == len(live) == 1515
    mismatches = []
    for row in table.itertuples(index=False):
        want = np.array([getattr(row, f) for f in ANCHOR_FEATURES], float)
        got = np.array(live[(row.driver, row.lap)], float)
        same = np.isclose(want, got, atol=1e-9) | (np.isnan(want) & np.isnan(got))
        if not same.all():
            mismatches.append(
                (row.driver, row.lap, [ANCHOR_FEATURES[k] for k in np.flatnonzero(~same)])
            )
    assert not mismatches, mismatches[:5]
    # the anchor pace itself, beside the features
    ewm = {(d, c.laps.lap[i]): c.laps.ewm[i] for d, c in cars.items() for i in range(len(c.laps))}
    for row in table.itertuples(index=False):
        a, b = row.ewm, ewm[(row.driver, row.lap)]
        assert (math.isnan(a) and math.isnan(b)) or abs(a - b) < 1e-9


def test_the_api_path_builds_the_same_features(monaco) -> None:
    """``/predictions/lap-time`` knows a car only by its recent laps: the same laps alone in a
    lap table give the same features through the training path."""
    from strategy.laptime import stint_anchor

    ver = [e for e in monaco.events if isinstance(e, LapEvent) and e.driver == "VER"]
    green = [e for e in ver if e.stint == 1 and e.track_status == "1" and e.lap_number > 1]
    runs = [green[k : k + 7] for k in range(len(green) - 6)]
    stint = next(r for r in runs if r[-1].lap_number - r[0].lap_number == 6)  # consecutive
    last = stint[-1]
    _, api = stint_anchor(
        CIRCUIT_CODE, last.compound, last.tyre_life, last.lap_number, 78,
        [e.lap_time for e in stint], 1, last.position, 99.0,
    )  # fmt: skip
    # the same laps alone in a lap table (no field: no crossing times), the race's length
    alone = [
        e.model_copy(update={"event_time": e.event_time.model_copy(update={"session_time": 0.0})})
        for e in stint
    ]
    laps = laps_from_events(alone, 2023, "Monaco Grand Prix").assign(laps_total=78, time=np.nan)
    table = anchor_table(laps, {"monaco": CIRCUIT_CODE})
    row = table.iloc[-1]
    want = np.array([row[f] for f in ANCHOR_FEATURES], float)
    assert np.allclose(want, np.array(api, float), equal_nan=True), list(
        zip(ANCHOR_FEATURES, want, api, strict=True)
    )


def test_car_laps_survive_the_worker_changelog(monaco) -> None:
    """A restarted worker rebuilds each car from its Faust table row (JSON, where NaN becomes
    null): the laps come back equal, missing values as NaN, and the features from them too."""
    from faust.serializers.codecs import get_codec

    session, cars = follow(monaco.events, monaco.session_key, 30)
    codec = get_codec("json")
    back = {d: CarState.from_dict(codec.loads(codec.dumps(c.to_dict()))) for d, c in cars.items()}
    assert any(math.isnan(x) for c in cars.values() for x in c.laps.fc)  # NaN was there
    ctx = RaceContext(CIRCUIT_CODE, session.laps_total or 78)
    fields = [FieldPace({d: c.laps for d, c in m.items()}) for m in (cars, back)]
    for d, c in cars.items():
        r = back[d].laps
        for name, values in vars(c.laps).items():
            assert np.allclose(values, getattr(r, name), equal_nan=True), (d, name)
        i = len(c.laps) - 1
        a, b = (
            anchor_features(m[d].laps, d, i, f, ctx)
            for m, f in zip((cars, back), fields, strict=True)
        )
        assert np.allclose(a, b, equal_nan=True), d
