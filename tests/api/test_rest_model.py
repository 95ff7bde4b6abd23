"""REST endpoints served from the race model, health, metrics, auth and rate limit.

The app runs in-process over httpx's ASGI transport against the real embedded stack and the
real race models (the trained artifact when there is one, priors from ../shared/data if not).
"""

from __future__ import annotations

import httpx
import pytest

from api.main import create_app
from core.settings import get_settings

# The app's pools live on the session loop the fixtures run on: run the tests there too.
pytestmark = pytest.mark.asyncio(loop_scope="session")

CODES = [
    "VER",
    "ALO",
    "OCO",
    "HAM",
    "RUS",
    "LEC",
    "GAS",
    "SAI",
    "NOR",
    "PIA",
    "BOT",
    "TSU",
    "ALB",
    "MAG",
    "DEV",
    "HUL",
    "ZHO",
    "SAR",
    "STR",
    "PER",
]


def race_state(lap: int = 30) -> dict:
    return {
        "session_key": "2023-monaco-R",
        "circuit": "monaco",
        "year": 2023,
        "lap": lap,
        "laps_total": 78,
        "drivers": [
            {
                "driver": code,
                "position": i + 1,
                "gap_to_leader": i * 2.5,
                "compound": "MEDIUM" if i % 2 else "HARD",
                "tyre_age": lap - 1,
                "pace": 76.0 + 0.12 * i,
            }
            for i, code in enumerate(CODES)
        ],
    }


async def test_health_and_metrics(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health/live")).json()["status"] == "ok"
    ready = await client.get("/health/ready")
    body = ready.json()
    assert ready.status_code == 200, body
    assert set(body["checks"]) == {"broker", "database", "redis"}
    assert all(c["ok"] for c in body["checks"].values())
    metrics = (await client.get("/metrics")).text
    for name in (
        "pitwall_http_request_duration_seconds",
        "pitwall_ws_broadcast_latency_seconds",
        "pitwall_ws_clients_connected",
        "pitwall_consumer_lag_messages",
    ):
        assert name in metrics
    assert 'route="/health/ready"' in metrics


async def test_openapi_documents_every_endpoint(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path in (
        "/sessions",
        "/sessions/{session_key}",
        "/sessions/{session_key}/laps",
        "/sessions/{session_key}/stints",
        "/sessions/{session_key}/track-status",
        "/predictions/lap-time",
        "/predictions/degradation",
        "/predictions/safety-car",
        "/simulations/race",
        "/strategies/optimal",
        "/strategies/compare",
        "/exports/sessions/{session_key}/laps",
        "/exports/sessions/{session_key}/strategy",
        "/admin/replays",
        "/admin/models/reload",
        "/health/ready",
    ):
        assert path in paths, path


async def test_optimal_strategy_for_a_race_state(client: httpx.AsyncClient) -> None:
    r = await client.post("/strategies/optimal", json={"state": race_state(), "seed": 3})
    assert r.status_code == 200, r.text
    recs = r.json()["recommendations"]
    assert [x["driver"] for x in recs] == CODES
    assert sum(x["win_prob"] for x in recs) == pytest.approx(1.0, abs=1e-6)
    assert sum(x["podium_prob"] for x in recs) == pytest.approx(3.0, abs=1e-6)
    # A leader 29 laps into a 78-lap race without a stop still has to make one (2 compounds).
    assert recs[0]["pit_window"] is not None
    assert 30 < recs[0]["pit_window"]["best_lap"] < 78
    assert recs[0]["recommended_compound"] in {"SOFT", "MEDIUM", "HARD"}


async def test_simulation_and_plan_comparison(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/simulations/race", json={"state": race_state(), "n_sims": 2000, "seed": 1}
    )
    assert r.status_code == 200, r.text
    sim = r.json()
    assert sim["n_sims"] == 2000 and len(sim["drivers"]) == 20
    leader, last = sim["drivers"][0], sim["drivers"][-1]
    assert leader["win_prob"] > last["win_prob"]
    assert sum(leader["position_distribution"]) == pytest.approx(1.0, abs=1e-3)

    plans = [[], [{"lap": 45, "compound": "MEDIUM"}], [{"lap": 31, "compound": "SOFT"}]]
    r = await client.post(
        "/strategies/compare",
        json={"state": race_state(), "driver": "HAM", "plans": plans, "n_sims": 1000},
    )
    assert r.status_code == 200, r.text
    cmp = r.json()
    assert cmp["driver"] == "HAM" and len(cmp["outcomes"]) == 3
    best = cmp["outcomes"][cmp["best_index"]]
    assert best["expected_position"] == min(o["expected_position"] for o in cmp["outcomes"])
    # Not stopping breaks the two-compound rule's spirit at Monaco only through pace; a plan
    # with no stop still finishes somewhere: every distribution sums to one.
    for o in cmp["outcomes"]:
        assert sum(o["position_distribution"]) == pytest.approx(1.0, abs=1e-3)


async def test_predictions(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/predictions/lap-time",
        json={
            "circuit": "monaco",
            "compound": "HARD",
            "tyre_life": 20,
            "lap": 40,
            "laps_total": 78,
            "recent_laps": [76.5, 76.7, 76.6, 76.9, 76.8],
            "horizon": 3,
        },
    )
    assert r.status_code == 200, r.text
    preds = r.json()["predictions"]
    assert [p["lap"] for p in preds] == [41, 42, 43]
    assert all(74 < p["lap_time"] < 80 for p in preds)

    laps = [
        {"tyre_age": a, "lap_time": 77.0 + 0.12 * a, "lap_number": 20 + a} for a in range(2, 14)
    ]
    r = await client.post(
        "/predictions/degradation",
        json={"compound": "SOFT", "circuit": "monaco", "laps_total": 78, "laps": laps},
    )
    assert r.status_code == 200, r.text
    deg = r.json()
    # 0.12 s/lap raw is 0.175 s/lap fuel-corrected (the car gets 0.055 s/lap lighter): the
    # posterior lies between the SOFT prior and what the laps show.
    assert deg["laps_in_fit"] == 12
    assert deg["prior_slope"] < deg["slope"] < 0.175
    assert deg["predicted"][0]["tyre_age"] == 14

    params = {"circuit": "monaco", "laps_remaining": 40}
    r = await client.get("/predictions/safety-car", params=params)
    sc = r.json()
    assert r.status_code == 200 and sc["known_circuit"] is True
    assert 0 < sc["p_sc_per_lap"] < sc["p_sc_remaining"] < 1
    assert sc["pit_loss_under_sc_s"] < sc["pit_loss_s"]


@pytest.mark.parametrize(
    ("method", "url", "payload", "fragment"),
    [
        ("get", "/sessions/not_a_key/laps", None, "session_key: String should match pattern"),
        ("get", "/sessions/2023-monaco-R/laps?driver=MAXV", None, "driver: String should match"),
        ("get", "/sessions/2023-monaco-R/laps?from_lap=50&to_lap=10", None, "from_lap (50)"),
        ("get", "/predictions/safety-car?circuit=monaco&laps_remaining=-3", None, "laps_remaining"),
        ("get", "/exports/sessions/2023-monaco-R/laps?format=xml", None, "format"),
        ("post", "/strategies/optimal", {"state": {**race_state(), "lap": 90}}, "below laps_total"),
        (
            "post",
            "/predictions/lap-time",
            {"circuit": "monaco", "compound": "PINK", "tyre_life": 3, "lap": 4,
             "laps_total": 78, "recent_laps": [76.1]},
            "compound: Input should be 'SOFT'",
        ),
        (
            "post",
            "/strategies/compare",
            {"state": race_state(), "driver": "XYZ", "plans": [[]]},
            "not a running car",
        ),
        (
            "post",
            "/strategies/compare",
            {"state": race_state(), "driver": "VER", "plans": [[{"lap": 10, "compound": "SOFT"}]]},
            "outside the laps still to run",
        ),
    ],
)  # fmt: skip
async def test_bad_parameters_get_clear_4xx(
    client: httpx.AsyncClient, method: str, url: str, payload: dict | None, fragment: str
) -> None:
    r = await client.request(method.upper(), url, json=payload)
    assert r.status_code == 422, r.text
    assert fragment in r.json()["detail"]


async def test_mutating_endpoints_need_the_api_key(client: httpx.AsyncClient) -> None:
    body = {"year": 2023, "event": "Monaco"}
    r = await client.post("/admin/replays", json=body)
    assert r.status_code == 401 and "X-API-Key" in r.json()["detail"]
    r = await client.post("/admin/replays", json=body, headers={"X-API-Key": "nope"})
    assert r.status_code == 401 and "invalid or revoked API key" in r.json()["detail"]
    key = get_settings().api_key
    r = await client.post("/admin/models/reload", headers={"X-API-Key": key})
    assert r.status_code == 200 and r.json()["model_version"]
    r = await client.get("/admin/replays/0123456789ab", headers={"X-API-Key": key})
    assert r.status_code == 404


async def test_rate_limit_answers_429_with_retry_after(stack) -> None:
    app = create_app(get_settings().model_copy(update={"rate_limit_ip": 3}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("192.0.2.250", 1234))  # own bucket
        headers: dict[str, str] = {}
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as c:
            url = "/predictions/safety-car?circuit=bahrain&laps_remaining=10"
            codes = [(await c.get(url, headers=headers)).status_code for _ in range(4)]
            assert codes == [200, 200, 200, 429]
            r = await c.get(url, headers=headers)
            assert 1 <= int(r.headers["Retry-After"]) <= 61
            assert "rate limit" in r.json()["detail"]
            # Health is never limited (load balancers poll it).
            assert (await c.get("/health/live", headers=headers)).status_code == 200


async def test_dashboard_is_served_with_its_vendored_chart_library(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/", follow_redirects=True)
    assert r.status_code == 200 and "timing-tower" in r.text
    assert "/static/vendor/uPlot.iife.min.js" in r.text and "cdn" not in r.text.lower()
    lib = await client.get("/static/vendor/uPlot.iife.min.js")
    assert lib.status_code == 200 and "uPlot" in lib.text


async def test_replay_endpoint_publishes_a_past_race_to_kafka(
    client: httpx.AsyncClient, timeline
) -> None:
    """POST /admin/replays runs replay.publish_timeline in the background, as simulate_live."""
    import asyncio
    import uuid

    from schemas.topics import LAPS
    from tests.kafka_utils import end_offsets, read_since

    key = f"2023-monaco-R-admin{uuid.uuid4().hex[:6]}"
    offsets = end_offsets(LAPS.name)
    headers = {"X-API-Key": get_settings().api_key}
    body = {"year": 2023, "event": "Monaco", "from_lap": 76, "session_key": key}
    r = await client.post("/admin/replays", json=body, headers=headers)
    assert r.status_code == 202, r.text
    job = r.json()
    while job["status"] in ("queued", "running"):
        await asyncio.sleep(0.2)
        job = (await client.get(f"/admin/replays/{job['id']}", headers=headers)).json()
    assert job["status"] == "done", job
    assert job["session_key"] == key and job["published"] > 0

    def mine(msgs) -> list:
        return [m for m in msgs if m.key().decode().startswith(f"{key}:")]

    laps = mine(await asyncio.to_thread(read_since, LAPS.name, offsets, idle_timeout=2.0))
    # Laps before --from-lap are fast-forwarded, not skipped: the whole race, once.
    assert len(laps) == 1515
    assert len({m.key() for m in laps}) == 20  # one key per driver
