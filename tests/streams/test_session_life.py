"""The worker lets a session go once it is over: a real race's first laps through the
SessionWorker (no broker: plain dicts for its tables), its flag, then the grace period."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from core.settings import get_settings
from replay.timeline import build_timeline
from schemas import EventTime, SessionEvent, utcnow
from schemas.topics import SESSION, STRATEGY, topic_for
from strategy.artifacts import load_models
from streams.session_life import SessionLife
from streams.session_worker import SessionWorker
from streams.strategy_queue import StrategyQueue


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_life_lets_go_after_the_flag_and_the_grace_or_when_stale() -> None:
    t = Clock()
    life = SessionLife(grace_s=60.0, stale_s=3600.0, clock=t)
    life.heard("a")
    life.heard("b")
    life.heard("a", "Finished")
    t.now = 59.0
    assert life.due() == []
    t.now = 60.0
    assert life.due() == ["a"]  # over, and quiet for the grace
    life.drop("a")
    t.now = 3600.0
    assert life.due() == ["b"]  # never over, but gone quiet for an hour


@pytest.fixture(scope="module")
def monaco() -> list[Any]:
    timeline = build_timeline(2023, "Monaco", settings=get_settings())
    start = timeline.lap_start_time(4)  # three laps of the race
    return [e.model_copy() for e in timeline.events if e.event_time.session_time < start]


def test_two_sessions_in_one_batch_then_the_ended_one_is_let_go(monaco: list[Any]) -> None:
    models = load_models(get_settings().model_dir)
    sent: list[tuple[str, str]] = []

    async def send(spec: Any, session_key: str, key: str, value: bytes) -> None:
        sent.append((spec.name, session_key))

    t = Clock()
    sessions: dict[str, Any] = {}
    cars: dict[str, Any] = {}
    worker = SessionWorker(
        models, send, sessions, cars, executor=ThreadPoolExecutor(1), n_sims=50,
        life=SessionLife(grace_s=60.0, clock=t),
    )  # fmt: skip
    queue = StrategyQueue()

    async def race() -> None:
        for key in ("a", "b"):
            for e in monaco:
                e = e.model_copy(update={"session_key": key})
                req = await worker.handle(topic_for(e).name, e.model_dump_json().encode())
                if req is not None:
                    queue.put(req)
        batch = await queue.get_batch()
        assert [r.session_key for r in batch] == ["a", "b"]  # one turn: both sessions
        outs = await worker.publish_strategies(batch)
        assert [o.session_key for o in outs] == ["a", "b"] and all(o.recommendations for o in outs)

    asyncio.run(race())
    assert (STRATEGY.name, "a") in sent and (STRATEGY.name, "b") in sent
    assert "a" in sessions and any(k.startswith("a:") for k in cars)
    flag = SessionEvent(
        session_key="a", event_time=EventTime(session_time=9e3, utc=utcnow()), kind="status",
        status="Finished",
    )  # fmt: skip
    asyncio.run(worker.handle(SESSION.name, flag.model_dump_json().encode()))
    t.now = 61.0
    assert worker.life.due() == ["a"]  # b is not over, nor stale
    worker.end_session("a")
    assert "a" not in sessions and not any(k.startswith("a:") for k in cars)
    assert "b" in sessions and any(k.startswith("b:") for k in cars)
    assert "a" not in worker.life.heard_at
