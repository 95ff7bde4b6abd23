"""The WebSocket gateway of a real ``pitwall serve``: snapshot, ordered updates, fan-out across
gateway processes, dropping a client that stops reading, and the live path from a replay."""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
import time
import uuid
from dataclasses import replace
from types import SimpleNamespace

import httpx
import orjson
import pytest
import redis.asyncio as aioredis
import websockets

from core.settings import get_settings
from tests.api.conftest import Service, free_port, publish, unique_key, wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")


def ws_url(base: str, key: str) -> str:
    return base.replace("http://", "ws://") + f"/ws/sessions/{key}"


async def read_updates(ws, n: int, timeout: float = 30) -> list[dict]:
    """The next ``n`` updates (batches unpacked), skipping heartbeats, within ``timeout`` s
    in all (heartbeats keep a socket busy, so a per-message timeout could wait forever)."""
    out: list[dict] = []
    try:
        async with asyncio.timeout(timeout):
            while len(out) < n:
                msg = orjson.loads(await ws.recv())
                for m in msg["updates"] if msg["type"] == "batch" else [msg]:
                    if m["type"] == "update":
                        out.append(m)
    except TimeoutError:
        pytest.fail(f"{len(out)} of {n} updates in {timeout:.0f} s")
    return out


@pytest.fixture(scope="module")
def second_server(stack, tmp_path_factory):
    """Another gateway process on the same Redis (as behind a load balancer); it drops
    clients after 256 KB unsent (1 MB by default) so that a slow client is found sooner."""
    import httpx

    port = free_port()
    svc = Service(
        "serve2",
        ["serve", "--port", str(port)],
        tmp_path_factory.mktemp("serve2"),
        env={"PITWALL_WS_MAX_BUFFER": str(256 * 1024)},
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{base}/health/live", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(up, 60, "the second gateway", [svc])
    yield base
    svc.stop()


async def test_snapshot_then_updates_in_order_on_every_gateway(
    server: str, second_server: str
) -> None:
    key = f"2023-test-ws{uuid.uuid4().hex[:6]}"
    r = aioredis.Redis.from_url(get_settings().require_redis)
    info = {"session_key": key, "event_name": "Test GP", "total_laps": 50, "current_lap": 3}
    await r.set(f"pitwall:session:{key}:info", orjson.dumps(info))
    await r.hset(
        f"pitwall:session:{key}:standings",
        mapping={"VER": orjson.dumps({"driver": "VER", "position": 1})},
    )
    try:
        async with (
            websockets.connect(ws_url(server, key)) as a,
            websockets.connect(ws_url(second_server, key)) as b,
        ):
            snaps = [orjson.loads(await a.recv()), orjson.loads(await b.recv())]
            for snap in snaps:
                assert snap["type"] == "snapshot" and snap["known"] is True
                assert snap["info"]["event_name"] == "Test GP"
                assert snap["standings"] == [{"driver": "VER", "position": 1}]
            for i in range(300):
                row = {"driver": "VER", "position": 1, "lap_number": i}
                msg = {"kind": "standings", "topic": "f1.timing.v1", "data": row}
                await r.publish(f"pitwall:live:{key}", orjson.dumps(msg))
            for ws in (a, b):
                got = await read_updates(ws, 300)
                assert [u["data"]["lap_number"] for u in got] == list(range(300))
                seqs = [u["seq"] for u in got]
                assert seqs == sorted(seqs) and len(set(seqs)) == 300
                assert all(u["kind"] == "standings" for u in got)
        # A client that keeps up gets the ready-made frames written straight to its socket.
        for base in (server, second_server):
            async with httpx.AsyncClient() as http:
                text = (await http.get(f"{base}/metrics")).text
            direct = re.search(r'pitwall_ws_frames_sent_total\{path="direct"\} (\S+)', text)
            assert direct and float(direct.group(1)) > 0, "no frame took the direct path"
    finally:
        await r.delete(f"pitwall:session:{key}:info", f"pitwall:session:{key}:standings")
        await r.aclose()


async def test_client_that_stops_reading_is_dropped_without_delaying_others(
    second_server: str,
) -> None:
    key = f"2023-test-slow{uuid.uuid4().hex[:6]}"
    r = aioredis.Redis.from_url(get_settings().require_redis)
    n, pad = 2000, "x" * 8000  # 16 MB: more than the socket buffers and the gateway's limit
    server = second_server
    try:
        async with (
            websockets.connect(ws_url(server, key), max_queue=1, max_size=None) as slow,
            websockets.connect(ws_url(server, key), max_size=None) as fast,
        ):
            await asyncio.wait_for(slow.recv(), 30)
            await asyncio.wait_for(fast.recv(), 30)
            received: list[int] = []

            async def reader() -> None:
                for u in await read_updates(fast, n, timeout=120):
                    received.append(u["data"]["i"])

            task = asyncio.create_task(reader())
            for i in range(n):
                msg = {"kind": "standings", "topic": "t", "data": {"i": i, "pad": pad}}
                await r.publish(f"pitwall:live:{key}", orjson.dumps(msg))
                if i % 50 == 49:
                    await asyncio.sleep(0.005)  # lets the fast reader (same loop) keep up
            await asyncio.wait_for(task, 180)
            assert received == list(range(n))
            # The slow one is closed with 1013 (try again later) once it is far behind; had it
            # been kept, reading it now would catch up and go on to heartbeats.
            seen = 0
            with pytest.raises(websockets.ConnectionClosed) as closed:
                async with asyncio.timeout(120):
                    while True:
                        msg = orjson.loads(await slow.recv())
                        seen += len(msg["updates"]) if msg["type"] == "batch" else 1
                        assert seen <= n, "the slow client was never dropped: it caught up"
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
    finally:
        await r.aclose()


async def test_clients_resync_after_the_redis_subscription_drops(server: str) -> None:
    """Updates published while the gateway's subscription is down would be lost: its clients
    are closed (1011) and, reconnecting, start again from a snapshot on a new subscription."""
    key = f"2023-test-resync{uuid.uuid4().hex[:6]}"
    r = aioredis.Redis.from_url(get_settings().require_redis)
    try:
        async with websockets.connect(ws_url(server, key)) as ws:
            await asyncio.wait_for(ws.recv(), 30)
            msg = {"kind": "standings", "topic": "t", "data": {"i": 0}}
            await r.publish(f"pitwall:live:{key}", orjson.dumps(msg))
            assert (await read_updates(ws, 1))[0]["data"] == {"i": 0}
            assert await r.client_kill_filter(_type="pubsub") >= 1
            with pytest.raises(websockets.ConnectionClosed) as closed:
                async with asyncio.timeout(30):
                    while True:
                        await r.publish(f"pitwall:live:{key}", orjson.dumps(msg))
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(ws.recv(), 0.2)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1011
        async with websockets.connect(ws_url(server, key)) as again:
            assert orjson.loads(await asyncio.wait_for(again.recv(), 30))["type"] == "snapshot"
            await r.publish(f"pitwall:live:{key}", orjson.dumps(msg))
            assert (await read_updates(again, 1))[0]["data"] == {"i": 0}
    finally:
        await r.aclose()


async def test_invalid_session_key_is_refused(server: str) -> None:
    async with websockets.connect(ws_url(server, "bad_key")) as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd.code == 1008


def direct_frames(base: str) -> float:
    """Frames the gateway at ``base`` has written straight to a socket (its /metrics)."""
    text = httpx.get(f"{base}/metrics", timeout=10).text
    found = re.search(r'pitwall_ws_frames_sent_total\{path="direct"\} (\S+)', text)
    return float(found.group(1)) if found else 0.0


async def test_direct_writer_is_tested_with_the_installed_server() -> None:
    """The direct writer reaches into uvicorn's and websockets' objects: an upgrade of either
    fails here first (add the release to ``TESTED`` once this file passes with it)."""
    from api.gateway.direct import TESTED, untested_releases

    assert untested_releases() == [], f"tested with {TESTED}"
    assert untested_releases({"uvicorn": "0.55.0", "websockets": "17.4"}) == ["uvicorn 0.55.0"]
    assert untested_releases({"uvicorn": "0.54.1", "websockets": "18.0"}) == ["websockets 18.0"]


async def test_a_pitwall_serve_connection_gets_a_direct_writer(server: str) -> None:
    """A client of a real ``pitwall serve`` that keeps up gets its update written straight
    to its socket (the only path that counts a frame as direct)."""
    key = f"2023-test-direct{uuid.uuid4().hex[:6]}"
    r = aioredis.Redis.from_url(get_settings().require_redis)
    try:
        before = direct_frames(server)
        async with websockets.connect(ws_url(server, key)) as ws:
            assert orjson.loads(await asyncio.wait_for(ws.recv(), 30))["type"] == "snapshot"
            msg = {"kind": "standings", "topic": "t", "data": {"i": 0}}
            await r.publish(f"pitwall:live:{key}", orjson.dumps(msg))
            assert (await read_updates(ws, 1))[0]["data"] == {"i": 0}
        assert direct_frames(server) > before, "the update did not take the direct path"
    finally:
        await r.aclose()


async def test_untested_server_releases_use_the_queue_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under releases the direct writer is not tested with, no client gets one."""
    from websockets.protocol import State

    from api.gateway import Gateway, direct
    from api.gateway.clients import Client
    from api.metrics import Metrics

    class Proto:
        """What the direct writer needs of uvicorn's websockets-sansio protocol."""

        def __init__(self) -> None:
            self.transport = SimpleNamespace(get_write_buffer_size=lambda: 0)
            self.conn = SimpleNamespace(
                extensions=[], expect_continuation_frame=False, state=State.OPEN
            )
            self.writable = asyncio.Event()
            self.close_sent = False

        async def send(self, message: dict) -> None:
            pass

    ws = SimpleNamespace(_send=Proto().send)
    assert isinstance(Client(ws, 16).direct, direct.DirectWriter)
    assert Gateway(None, Metrics()).direct_writes
    monkeypatch.setattr(direct, "untested_releases", lambda: ["uvicorn 9.9"])
    gateway = Gateway(None, Metrics())
    assert not gateway.direct_writes
    assert Client(ws, 16, direct_writes=gateway.direct_writes).direct is None


async def test_live_updates_during_a_replay(server: str, pipeline: dict, timeline) -> None:
    """Replay -> Kafka -> (worker) -> sink's Redis writer -> gateway -> this client."""
    key = unique_key(timeline, "ws")
    start = timeline.lap_start_time(70)
    tail = timeline.with_session_key(key)
    events = [e for e in tail.events if e.type == "session" or e.event_time.session_time >= start]
    tail = replace(tail, events=events)
    async with websockets.connect(ws_url(server, key), max_size=None) as ws:
        snap = orjson.loads(await ws.recv())
        assert snap["type"] == "snapshot" and snap["known"] is False
        done = threading.Event()
        threading.Thread(target=lambda: (publish(tail), done.set()), daemon=True).start()
        kinds: set[str] = set()
        seqs: list[int] = []
        laps: list[int] = []
        want = {"standings", "strategy"} if pipeline["worker"] else {"standings"}
        deadline = asyncio.get_running_loop().time() + 240
        # until the leader's lap 70 shows too: the first rows are of cars still on lap 69
        while not (want <= kinds and len(seqs) >= 200 and laps and max(laps) >= 70):
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                pytest.fail(
                    f"only {sorted(kinds)}, {len(seqs)} updates and laps up to "
                    f"{max(laps, default=None)} in 240 s"
                )
            for u in await read_updates(ws, 1, timeout=min(left, 60)):
                kinds.add(u["kind"])
                seqs.append(u["seq"])
                if u["kind"] == "standings":
                    rows = u["data"] if isinstance(u["data"], list) else [u["data"]]
                    laps += [row["lap_number"] for row in rows if row.get("lap_number")]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert laps and max(laps) >= 70


async def test_an_update_that_arrives_during_a_fan_out_joins_it(
    stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gateway's fan-out on a real Redis subscription, with stand-ins for the sockets: an
    update published while a burst goes out reaches the clients not yet written in the same
    write as the burst, and the others right after. Every client gets every update once, in
    order."""
    import redis as sync_redis

    from api.gateway import Gateway, fanout
    from api.gateway.clients import Client
    from api.metrics import Metrics

    monkeypatch.setattr(fanout, "CHUNK", 3)
    url = get_settings().require_redis
    key = f"2023-test-join{uuid.uuid4().hex[:6]}"
    channel = f"pitwall:live:{key}"
    r, pub = aioredis.Redis.from_url(url), sync_redis.Redis.from_url(url)

    def update(i: int) -> bytes:
        return orjson.dumps({"kind": "standings", "topic": "t", "data": {"i": i}})

    published: list[int] = []

    class Socket:
        """Takes whole writes as a connection that keeps up would; the burst's first write
        publishes update 1, which so arrives while the burst goes out."""

        def __init__(self) -> None:
            self.writes: list[bytes] = []

        def write(self, wire: bytes) -> bool:
            self.writes.append(wire)
            if not published:
                published.append(1)
                pub.publish(channel, update(1))
                time.sleep(0.05)  # Redis delivers it before the next chunk looks
            return True

    gateway = Gateway(r, Metrics())
    clients = []
    try:
        for _ in range(12):
            client = Client(SimpleNamespace(_send=None), 16)
            client.direct, client.idle = Socket(), True
            clients.append(client)
            await gateway._join(key, client)
        pub.publish(channel, update(0))
        sockets = [c.direct for c in clients]
        async with asyncio.timeout(10):
            while not all(sum(len(frames(w)) for w in s.writes) == 2 for s in sockets):
                await asyncio.sleep(0.01)
        order = list(gateway.channels[key].clients)  # the order the fan-out wrote them in
        for client in order:
            got = [f for w in client.direct.writes for f in frames(w)]
            assert [u["data"]["i"] for u in got] == [0, 1]
            assert got[1]["seq"] == got[0]["seq"] + 1
        # The chunks written before the gateway saw update 1 got it in a second pass; the
        # rest got both updates back to back in one write.
        writes = [len(c.direct.writes) for c in order]
        twice = writes.count(2)
        assert writes == [2] * twice + [1] * (len(order) - twice), writes
        assert twice % fanout.CHUNK == 0 and 0 < twice < len(order), writes
    finally:
        await gateway.stop()
        await r.aclose()
        pub.close()


def frames(wire: bytes) -> list[dict]:
    """The JSON of each (unmasked, server-to-client) WebSocket text frame in ``wire``."""
    out = []
    while wire:
        length, start = wire[1] & 0x7F, 2
        if length == 126:
            length, start = int.from_bytes(wire[2:4]), 4
        elif length == 127:
            length, start = int.from_bytes(wire[2:10]), 10
        out.append(orjson.loads(wire[start : start + length]))
        wire = wire[start + length :]
    return out
