"""The analytics REST endpoints on real sessions (2023 Monaco and Bahrain from the FastF1
cache, 2025 Australia with car telemetry), with the app's real Redis cache, and their 4xx."""

from __future__ import annotations

import time
import uuid

import httpx
import orjson
import pytest
import redis

from core.settings import Settings
from schemas.live import SESSIONS, session_key_name

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_compare_two_drivers_over_a_race(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/compare/drivers?session=2023-monaco-R&drivers=VER,ALO")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["kind"] == "race" and [d["driver"] for d in body["drivers"]] == ["VER", "ALO"]
    assert body["drivers"][0]["colour"].startswith("#")
    ver = body["laps"]["VER"]
    assert ver["lap"][:3] == [1, 2, 3] and len(ver["lap"]) == 78
    assert len(ver["lap_time"]) == len(ver["fuel_corrected"]) == len(ver["clean"]) == 78
    assert sum(ver["clean"]) > 40
    assert {p["driver"] for p in body["pace"]} == {"VER", "ALO"}
    dist = {d["driver"]: d for d in body["distribution"]}
    assert dist["ALO"]["q1"] <= dist["ALO"]["median"] <= dist["ALO"]["q3"]
    alo_stints = [s["compound"] for s in body["stints"] if s["driver"] == "ALO"]
    assert alo_stints == ["HARD", "MEDIUM", "INTERMEDIATE"]
    sectors = body["sectors"]
    assert sectors["available"] and sectors["reference"] == "VER"
    rows = {row["driver"]: row for row in sectors["rows"]}
    assert rows["VER"]["delta_best"] == [0, 0, 0] and len(rows["ALO"]["best"]) == 3
    assert rows["VER"]["speed_traps"]["st"] > 250
    assert {c["driver"] for c in body["consistency"]} == {"VER", "ALO"}


async def test_results_are_cached_in_redis_longer_when_finished(
    client: httpx.AsyncClient, stack: Settings
) -> None:
    r = redis.Redis.from_url(stack.require_redis)
    url = "/api/v1/compare/drivers?session=2023-monaco-R&drivers=HAM,RUS"
    first = await client.get(url)
    key = "pitwall:analytics:v1:drivers:2023-monaco-R:HAM,RUS"
    assert r.get(key) == first.content and r.ttl(key) > 3600
    started = time.perf_counter()
    second = await client.get(url)
    assert second.content == first.content and time.perf_counter() - started < 1.0
    # A live session (the Redis writer touched it just now) keeps results only seconds.
    live = f"2023-monaco-Q-live{uuid.uuid4().hex[:6]}"
    r.zadd(SESSIONS, {live: time.time()})
    got = await client.get(f"/api/v1/compare/drivers?session={live}&drivers=VER,ALO")
    assert got.status_code == 200 and got.json()["kind"] == "timed"
    assert 0 < r.ttl(f"pitwall:analytics:v1:drivers:{live}:VER,ALO") <= 10
    r.close()


async def test_teams_consistency_head_to_head_evolution(client: httpx.AsyncClient) -> None:
    teams = (await client.get("/api/v1/compare/teams?session=2023-bahrain-R")).json()
    assert len(teams["teams"]) == 10 and teams["teams"][0]["team"] == "Red Bull Racing"
    cons = (await client.get("/api/v1/insights/consistency?session=2023-bahrain-R")).json()
    assert len(cons["drivers"]) >= 18 and all(0 <= d["within_0_5"] <= 1 for d in cons["drivers"])
    h2h = (await client.get("/api/v1/insights/head-to-head?session=2023-bahrain-R")).json()
    aston = next(p for p in h2h["pairs"] if p["team"] == "Aston Martin")
    assert aston["finished_ahead"] == "ALO"
    quali = (await client.get("/api/v1/insights/head-to-head?session=2023-monaco-Q")).json()
    rb = next(p for p in quali["pairs"] if p["team"] == "Red Bull Racing")
    assert rb["faster"] == "VER" and rb["delta"] is not None
    evo = (await client.get("/api/v1/insights/track-evolution?session=2023-monaco-Q")).json()
    assert evo["unit"] == "minute" and evo["delta"][0] > evo["delta"][-1]  # the track got faster


async def test_telemetry_of_a_lap_and_two_laps_compared(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/telemetry/2025-australian-Q/NOR/lap/19")
    assert r.status_code == 200, r.text
    lap = r.json()
    assert lap["lap_time"] == pytest.approx(75.096) and lap["time"][-1] == pytest.approx(75.096)
    assert 5200 < lap["length"] < 5350 and max(lap["speed"]) > 300
    assert len(lap["distance"]) == len(lap["throttle"]) == len(lap["x"]) > 500
    assert len(lap["corners"]) >= 5 and min(c["speed"] for c in lap["corners"]) < 120
    r = await client.get("/api/v1/telemetry/compare?session=2025-australian-Q&drivers=NOR,PIA")
    cmp = r.json()
    nor, pia = cmp["traces"]
    assert cmp["delta"][-1] == pytest.approx(pia["lap_time"] - nor["lap_time"], abs=1e-3)
    assert len(cmp["mini_sectors"]["fastest"]) == 25 and cmp["corners"]


async def test_a_driver_named_twice_counts_once(client: httpx.AsyncClient) -> None:
    """The schema allows repeats (a pattern cannot forbid them): they are no error."""
    url = "/api/v1/compare/drivers?session=2023-monaco-R&drivers="
    once, twice = [(await client.get(url + d)).json() for d in ("VER", "VER,VER")]
    assert [d["driver"] for d in once["drivers"]] == ["VER"], once
    assert twice == once


@pytest.mark.parametrize(
    ("url", "status", "words"),
    [
        ("/api/v1/telemetry/2023-monaco-R/VER/lap/20", 404, "no car telemetry"),
        ("/api/v1/telemetry/2025-australian-Q/NOR/lap/40", 404, "timed laps: 1-19"),
        ("/api/v1/telemetry/2025-australian-Q/nor/lap/4", 422, "pattern"),
        ("/api/v1/telemetry/2025-australian-Q/NOR/lap/0", 422, "greater than or equal"),
        (
            "/api/v1/compare/drivers?session=2023-monaco-R&drivers=VER,ALO,HAM,RUS,SAI,LEC,NOR",
            422,
            "at most 23 characters",
        ),
        ("/api/v1/compare/drivers?session=2023-monaco-R&drivers=VER,XYZ", 404, "XYZ did not run"),
        ("/api/v1/compare/drivers?session=monaco&drivers=VER,ALO", 422, "session"),
        ("/api/v1/compare/teams?session=2023-atlantis-R", 404, "no 2023 event 'atlantis'"),
        ("/api/v1/compare/teams?session=2019-monaco-R", 404, "not in the offline FastF1 cache"),
        ("/api/v1/battles/2023-monaco-R?from_lap=30&to_lap=20", 422, "after to_lap"),
        ("/api/v1/battles/2023-monaco-Q", 404, "not a race"),
        (
            "/api/v1/telemetry/compare?session=2025-australian-Q&drivers=NOR,PIA&laps=3",
            422,
            "laps: String should match",
        ),
    ],
)
async def test_clear_errors(client: httpx.AsyncClient, url: str, status: int, words: str) -> None:
    r = await client.get(url)
    assert r.status_code == status, r.text
    assert words in r.json()["detail"]


async def test_battles_per_lap_of_a_past_race_and_live(
    client: httpx.AsyncClient, stack: Settings
) -> None:
    r = await client.get("/api/v1/battles/2023-bahrain-R?from_lap=35&to_lap=44")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["source"] == "laps" and [x["lap"] for x in body["laps"]] == list(range(35, 45))
    lap37 = next(x for x in body["laps"] if x["lap"] == 37)
    pair = next(p for p in lap37["pairs"] if p["behind"] == "ALO")
    assert pair["ahead"] == "HAM" and pair["drs"]
    assert 0 < pair["p_pass_1"] <= pair["p_pass_3"] <= pair["p_pass_5"] < 1
    assert lap37["passed_within_3"]["HAM-ALO"] is True  # Alonso passed Hamilton on lap 38
    # While the worker publishes forecasts the live one is answered.
    key = f"2023-bahrain-R-live{uuid.uuid4().hex[:6]}"
    r_ = redis.Redis.from_url(stack.require_redis)
    event = {"lap": 12, "model_version": "x", "pairs": [pair]}
    r_.set(session_key_name(key, "battles"), orjson.dumps(event))
    r_.close()
    live = (await client.get(f"/api/v1/battles/{key}")).json()
    assert live["source"] == "live" and live["laps"][0]["lap"] == 12


async def test_track_map_aligned_to_the_cars(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/v1/track/2025-australian-R")).json()
    assert body["frame"] == "car" and body["circuit"] == "Albert Park Circuit"
    assert body["residual_m"] < 10 and len(body["outline"]) > 100
    assert {d["driver"] for d in body["drivers"]} >= {"VER", "NOR"}
    monaco = (await client.get("/api/v1/track/2023-monaco-R")).json()
    assert monaco["frame"] == "metres"
    pos = (await client.get("/api/v1/track/2025-australian-R-none/positions")).json()
    assert pos["cars"] == {}


async def test_openapi_documents_the_analytics(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    wanted = [
        "/api/v1/compare/drivers",
        "/api/v1/compare/teams",
        "/api/v1/insights/consistency",
        "/api/v1/insights/head-to-head",
        "/api/v1/telemetry/{session}/{driver}/lap/{lap}",
        "/api/v1/telemetry/compare",
        "/api/v1/battles/{session}",
        "/api/v1/track/{session}",
    ]
    for p in wanted:
        assert p in paths, p
    ok = paths["/api/v1/compare/drivers"]["get"]["responses"]["200"]["content"]
    assert ok["application/json"]["schema"]["$ref"].endswith("DriverComparison")


async def test_a_live_session_is_analysed_on_its_stored_laps(
    client: httpx.AsyncClient, landed: str, stack: Settings
) -> None:
    """2023 Monaco replayed through the real pipeline under a key of its own, and live: the
    comparison comes from the laps the sink stored, and matches the archived race's."""
    r = redis.Redis.from_url(stack.require_redis)
    r.zadd(SESSIONS, {landed: time.time()})
    url = "/api/v1/compare/drivers?session={}&drivers=VER,ALO"
    got = await client.get(url.format(landed))
    assert got.status_code == 200, got.text
    live = got.json()
    archive = (await client.get(url.format("2023-monaco-R"))).json()
    assert live.get("laps_source") == "live", list(live)
    assert archive.get("laps_source") == "archive", list(archive)
    assert live["laps"] == archive["laps"]
    for a, b in zip(live["pace"], archive["pace"], strict=True):
        assert a["driver"] == b["driver"] and a["pace"] == pytest.approx(b["pace"], abs=1e-3)
    # The stored laps carry sector times and the speed trap (not the other speed traps).
    for a, b in zip(live["sectors"]["rows"], archive["sectors"]["rows"], strict=True):
        assert (a["best"], a["median"]) == (b["best"], b["median"])
        assert a["speed_traps"] == {"st": b["speed_traps"]["st"]}
    assert 0 < r.ttl(f"pitwall:analytics:v1:drivers:{landed}:VER,ALO") <= 10
    h2h = (await client.get(f"/api/v1/insights/head-to-head?session={landed}")).json()
    assert h2h["laps_source"] == "live" and len(h2h["pairs"]) == 10
    r.close()
