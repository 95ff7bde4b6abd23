"""The Faust patches: each one on its own, and the refusal of an untested Faust.

The worker's integration tests (test_worker.py) show the patches' effect end to end (latency,
no lap lost over a restart); these pin what each patch does to the Faust internals it
replaces, so that an upgrade that renames or reshapes one fails here first.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from types import SimpleNamespace

import faust
import pytest
from faust.tables.recovery import Recovery
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.types import TP

from core.pacing import IdleClock
from streams import faust_patch
from streams.fetch_pace import FetchPace


@pytest.fixture(scope="module")
def app() -> faust.App:
    app = faust.App("patch-test", broker="kafka://127.0.0.1:1", store="memory://")
    faust_patch.apply(app, 7, "127.0.0.1:1")
    return app


def test_untested_faust_is_refused() -> None:
    faust_patch.check_faust()  # the pinned release passes
    with pytest.raises(faust_patch.UntestedFaustError, match=r"0\.15\.x"):
        faust_patch.check_faust("0.16.0")
    with pytest.raises(faust_patch.UntestedFaustError):
        faust_patch.check_faust("0.1.5")


def test_every_target_is_replaced(app: faust.App) -> None:
    assert AIOKafkaConsumerThread._pitwall_patched
    names = {
        AIOKafkaConsumerThread._create_worker_consumer.__name__,
        Recovery.on_recovery_completed.__name__,
        Recovery._resume_streams.__name__,
        Recovery._build_highwaters.__name__,
    }
    assert names == {"create_worker_consumer", "patched"}


def test_each_app_keeps_its_own_fetch_wait(app: faust.App) -> None:
    other = faust.App("patch-test-2", broker="kafka://127.0.0.1:2", store="memory://")
    faust_patch.apply(other, 250, "127.0.0.1:2")

    async def build(a: faust.App) -> int:
        thread = SimpleNamespace(app=a, consumer=SimpleNamespace(in_transaction=False))
        consumer = AIOKafkaConsumerThread._create_worker_consumer(thread, a.transport)
        return consumer._fetch_max_wait_ms

    assert asyncio.run(build(app)) == 7
    assert asyncio.run(build(other)) == 250
    assert faust_patch.patch_of(other).bootstrap == "127.0.0.1:2"


def test_the_worker_consumer_is_handed_to_the_app_pace() -> None:
    paced = faust.App("patch-test-3", broker="kafka://127.0.0.1:3", store="memory://")
    pace = FetchPace(9, 400, IdleClock(5.0, 60.0))
    faust_patch.apply(paced, 9, "127.0.0.1:3", pace)
    thread = SimpleNamespace(app=paced, consumer=SimpleNamespace(in_transaction=False))

    async def build() -> object:
        return AIOKafkaConsumerThread._create_worker_consumer(thread, paced.transport)

    consumer = asyncio.run(build())
    assert pace.consumers == [consumer]
    pace._set(400)  # not started: no fetcher yet, the wait it will start with
    assert consumer._fetch_max_wait_ms == 400


def test_flow_stops_before_streams_resume(app: faust.App) -> None:
    calls: list[str] = []

    async def original(self, generation_id: int = 0) -> None:
        calls.append(f"resume {generation_id}")

    patched = faust_patch._stop_flow_first(original)
    recovery = SimpleNamespace(
        app=SimpleNamespace(consumer=SimpleNamespace(stop_flow=lambda: calls.append("stop")))
    )
    asyncio.run(patched(recovery, generation_id=3))
    assert calls == ["stop", "resume 3"]


def test_changelog_recovery_reads_to_the_true_end(
    app: faust.App, monkeypatch: pytest.MonkeyPatch
) -> None:
    tps = {TP("pitwall-worker-drivers-changelog", 0), TP("pitwall-worker-drivers-changelog", 1)}

    async def original(self, consumer, tps, destination, title) -> None:
        for tp in tps:  # what the broker reports: the last batch's base offset
            destination[tp] = 9 if tp.partition == 0 else -1

    seen: list[tuple[str, str]] = []

    def true_ends(bootstrap: str, topic: str) -> dict[int, int]:
        seen.append((bootstrap, topic))
        return {0: 15, 1: 0}

    monkeypatch.setattr(faust_patch, "end_offsets", true_ends)
    patched = faust_patch._true_ends(original)
    destination: Counter = Counter()
    asyncio.run(patched(SimpleNamespace(app=app), None, tps, destination, "Active"))
    assert destination[TP("pitwall-worker-drivers-changelog", 0)] == 14  # last offset
    assert destination[TP("pitwall-worker-drivers-changelog", 1)] == -1  # empty: unchanged
    assert seen == [("127.0.0.1:1", "pitwall-worker-drivers-changelog")]
