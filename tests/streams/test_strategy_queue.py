"""The worker's queue of strategy updates: which waiting update a newer one may replace."""

from __future__ import annotations

import asyncio

from strategy.race_state import RaceState
from streams.strategy_queue import Request, StrategyQueue


def _request(session: str, lap: int, trigger: str = "lap", event: str = "") -> Request:
    state = RaceState(session, "monaco", 2023, lap, 78)
    return Request(session, state, trigger, source=None, laps_total=78, events=[event])


def _drain(queue: StrategyQueue) -> list[Request]:
    async def take() -> list[Request]:
        return [await queue.get() for _ in range(len(queue))]

    return asyncio.run(take())


def test_newer_lap_at_the_same_leader_lap_takes_the_waiting_ones_place() -> None:
    queue = StrategyQueue()
    queue.put(_request("a", 20, event="VER 20"))
    queue.put(_request("a", 20, event="ALO 20"))
    queue.put(_request("a", 20, event="OCO 20"))
    [only] = _drain(queue)
    assert only.events == ["VER 20", "ALO 20", "OCO 20"]  # each acknowledged once it is sent
    assert queue.replaced == 2


def test_every_leader_lap_and_track_status_change_keeps_its_own_update() -> None:
    queue = StrategyQueue()
    queue.put(_request("a", 20, event="VER 20"))
    queue.put(_request("a", 21, event="VER 21"))  # a new leader lap: 20 keeps its update
    queue.put(_request("a", 21, "track_status", event="SC"))
    queue.put(_request("a", 21, event="ALO 21"))  # not folded into the track-status change
    out = _drain(queue)
    assert [(r.state.lap, r.trigger, r.events) for r in out] == [
        (20, "lap", ["VER 20"]),
        (21, "lap", ["VER 21"]),
        (21, "track_status", ["SC"]),
        (21, "lap", ["ALO 21"]),
    ]


def test_sessions_do_not_replace_each_other_and_keep_their_order() -> None:
    queue = StrategyQueue()
    queue.put(_request("a", 20, event="a1"))
    queue.put(_request("b", 20, event="b1"))
    queue.put(_request("a", 20, event="a2"))  # replaces a1 where it stands, before b1
    out = _drain(queue)
    assert [(r.session_key, r.events) for r in out] == [("a", ["a1", "a2"]), ("b", ["b1"])]


def test_get_waits_for_a_request() -> None:
    async def scenario() -> Request:
        queue = StrategyQueue()
        waiter = asyncio.create_task(queue.get())
        await asyncio.sleep(0.01)
        assert not waiter.done()
        queue.put(_request("a", 5, event="x"))
        return await asyncio.wait_for(waiter, 1)

    assert asyncio.run(scenario()).events == ["x"]


def test_a_batch_takes_one_request_per_session_in_turn() -> None:
    queue = StrategyQueue()
    for session, lap in (("a", 20), ("a", 21), ("b", 20), ("a", 22), ("c", 20), ("b", 21)):
        queue.put(_request(session, lap, event=f"{session}{lap}"))

    async def batches() -> list[list[str]]:
        return [[r.events[0] for r in await queue.get_batch()] for _ in range(3)]

    # a's backlog never holds b or c back by more than one turn
    assert asyncio.run(batches()) == [["a20", "b20", "c20"], ["a21", "b21"], ["a22"]]
    assert len(queue) == 0 and queue.sessions == 0


def test_a_session_that_ends_leaves_the_queue() -> None:
    queue = StrategyQueue()
    queue.put(_request("a", 20, event="a20"))
    queue.put(_request("b", 20, event="b20"))
    assert [r.events for r in queue.forget("a")] == [["a20"]]
    assert [r.session_key for r in _drain(queue)] == ["b"]
