"""Race state a strategist can trust, end to end on the real embedded stack.

2023 Bahrain replayed at max speed through the worker, the sinks and the API: Piastri (lap 13),
Leclerc (lap 40) and Ocon (lap 41) retire; after the flag they are out of the live state and
the API's tower (at the bottom, with their lap), out of the last strategy update (no plan,
window or call), and the 17 others stand in FastF1's final order. The last strategy update
projects where every running car would rejoin after a stop.
"""

from __future__ import annotations

import orjson
import psycopg
import pytest
import redis

from core.settings import Settings
from replay.timeline import build_timeline
from schemas import decode
from schemas.live import session_key_name
from schemas.topics import STRATEGY
from tests.api.conftest import publish, unique_key, wait_until
from tests.kafka_utils import end_offsets, read_since

#: The retired cars and their laps completed, as the official classification has them.
RETIRED = {"PIA": 13, "LEC": 39, "OCO": 41}


@pytest.fixture(scope="module")
def bahrain(stack: Settings, pipeline: dict) -> dict:
    if not pipeline["worker"]:
        pytest.skip("no stream worker")
    timeline = build_timeline(2023, "Bahrain", settings=stack)
    key = unique_key(timeline, "state")
    offsets = end_offsets(STRATEGY.name)
    publish(timeline.with_session_key(key))
    r = redis.Redis.from_url(stack.require_redis)

    def finished() -> bool:
        rows = r.hgetall(session_key_name(key, "standings"))
        laps = [orjson.loads(v).get("lap_number") or 0 for v in rows.values()]
        out = [orjson.loads(v) for v in rows.values() if orjson.loads(v).get("retired")]
        return bool(laps) and max(laps) == 57 and len(out) == 3

    wait_until(finished, 180, f"the flag and three retirements of {key}", pipeline["services"])
    msgs = read_since(
        STRATEGY.name,
        offsets,
        until=lambda ms: any(
            (e := decode(STRATEGY.name, m.value())).session_key == key and e.lap >= 57 for m in ms
        ),
        max_wait=180,
    )
    updates = [e for m in msgs if (e := decode(STRATEGY.name, m.value())).session_key == key]
    r.close()
    return {"key": key, "timeline": timeline, "strategy": updates}


def test_retired_cars_leave_the_live_state(stack: Settings, bahrain: dict) -> None:
    r = redis.Redis.from_url(stack.require_redis)
    rows = {
        k.decode(): orjson.loads(v)
        for k, v in r.hgetall(session_key_name(bahrain["key"], "standings")).items()
    }
    r.close()
    for driver, lap in RETIRED.items():
        row = rows[driver]
        assert row["retired"] and row["status"] == "retired", row
        assert row["out_lap"] == lap and row["out_reason"], row
    assert sum(bool(row.get("retired")) for row in rows.values()) == 3


def test_last_strategy_has_no_plan_for_retired_cars(bahrain: dict) -> None:
    last = bahrain["strategy"][-1]
    assert set(last.retired) == set(RETIRED)
    advised = {rec.driver for rec in last.recommendations}
    assert not advised & set(RETIRED)
    assert len(advised) == 17
    for rec in last.recommendations:
        assert rec.rejoin and {j.status for j in rec.rejoin} == {"green", "sc", "vsc"}
        assert 1 <= rec.rejoin[0].position <= 17
    # once out, a car never comes back into an update
    out: set[str] = set()
    for update in bahrain["strategy"]:
        assert out <= set(update.retired)
        assert not out & {rec.driver for rec in update.recommendations}
        out = set(update.retired)


@pytest.mark.asyncio(loop_scope="session")
async def test_api_tower_orders_the_finishers_and_puts_the_retired_last(
    client, stack: Settings, bahrain: dict
) -> None:
    resp = await client.get(f"/sessions/{bahrain['key']}/live")
    assert resp.status_code == 200, resp.text
    tower = resp.json()["standings"]
    drivers = [row["driver"] for row in tower]
    # FastF1's final classification of the cars that took the flag
    final = _final_order(stack)
    assert drivers[:17] == [d for d in final if d not in RETIRED]
    assert drivers[17:] == ["OCO", "LEC", "PIA"]  # the latest out first
    gaps = [row["gap_to_leader"] for row in tower[:17] if row["gap_to_leader"] is not None]
    assert gaps == sorted(gaps)
    lapped = [row for row in tower[:17] if row["laps_down"]]
    assert lapped and all(row["gap_text"].endswith(("LAP", "LAPS")) for row in lapped)


def _final_order(stack: Settings) -> list[str]:
    from replay.fastf1_source import load_session

    res = load_session(2023, "Bahrain", "R", stack).session.results
    return [str(d) for d in res.sort_values("Position")["Abbreviation"]]


def test_postgres_keeps_when_and_why(stack: Settings, bahrain: dict) -> None:
    with psycopg.connect(stack.require_database) as conn:
        rows = conn.execute(
            "SELECT driver, lap, reason, session_time FROM session_events "
            "WHERE session_key = %s AND kind = 'car_status' AND car_status = 'retired'",
            (bahrain["key"],),
        ).fetchall()
    assert {r[0]: r[1] for r in rows} == RETIRED
    assert all(r[2] and r[3] > 0 for r in rows)
