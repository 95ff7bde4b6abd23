"""The pre-race endpoints under /api/v1 and the next-race page, on a database of their own
filled by ``pitwall ingest ergast`` (seasons 2022-2023 and the 2024 calendar): the right data
from the real tables, the baseline's chances beside the model's, a clear 4xx on bad
parameters, Chromium showing the bars; and on a second database, what the next-race page
says while the history is being loaded and once the calendar has no race ahead."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import psycopg
import pytest
import redis

from core.settings import Settings
from schemas.winner import race_cache_key
from tests.api.conftest import REPO, serving
from tests.ergast_data import ergast_source, own_database, pitwall, write_subset

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def db(stack: Settings, tmp_path_factory: pytest.TempPathFactory):
    src = ergast_source(stack)
    folder = write_subset(
        src, tmp_path_factory.mktemp("ergast"), range(2022, 2024), range(2024, 2025)
    )
    with own_database(stack, redis_db=4) as settings:
        pitwall("ingest", "ergast", str(folder))
        yield settings


@pytest.fixture
async def api(db: Settings) -> AsyncIterator[httpx.AsyncClient]:
    from api.main import create_app

    app = create_app(db)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as c:
            yield c


def one(db: Settings, sql: str, *params):
    with psycopg.connect(db.require_database) as conn:
        return conn.execute(sql, params).fetchone()


def race(db: Settings, season: int, rnd: int) -> int:
    return one(db, "SELECT race_id FROM races WHERE season = %s AND round = %s", season, rnd)[0]


async def test_next_race_from_redis_and_rebuilt_from_postgres(api, db: Settings) -> None:
    resp = await api.get("/api/v1/predictions/next-race")
    assert resp.status_code == 200, resp.text
    doc = resp.json()
    opener = race(db, 2024, 1)
    assert (doc["race_id"], doc["status"], doc["grid_known"]) == (opener, "scheduled", False)
    chances = doc["predictions"]
    assert len(chances) == 20  # the line-up of the last race run
    assert sum(c["win_probability"] for c in chances) == pytest.approx(100, abs=0.1)
    assert sum(c["podium_probability"] for c in chances) == pytest.approx(300, abs=0.1)
    wins = [c["win_probability"] for c in chances]
    assert wins == sorted(wins, reverse=True)
    # the baseline the model starts from, beside it: the championship order before qualifying
    (pre,) = doc["moments"]
    assert pre["baseline"] == "championship"
    base = [c["baseline_win_probability"] for c in chances]
    assert sum(base) == pytest.approx(100, abs=0.1) and base != wins
    assert sum(c["baseline_podium_probability"] for c in chances) == pytest.approx(300, abs=0.1)
    assert all(c["finish_position"] is None for c in chances) and doc["notice"] is None
    stored = one(db, "SELECT model_version FROM predictions WHERE race_id = %s", opener)[0]
    assert doc["model_version"] == stored
    r = redis.Redis.from_url(db.require_redis)
    assert r.delete(race_cache_key(opener)) == 1  # it came from the cache
    rebuilt = (await api.get("/api/v1/predictions/next-race")).json()
    assert rebuilt == doc and r.exists(race_cache_key(opener))  # and is cached again
    r.close()


async def test_race_prediction_and_its_errors(api, db: Settings) -> None:
    finale = race(db, 2023, 22)
    doc = (await api.get(f"/api/v1/predictions/race/{finale}")).json()
    assert doc["status"] == "completed" and doc["grid_known"]
    assert [m["moment"] for m in doc["moments"]] == ["pre", "post"]
    assert {m["kind"] for m in doc["moments"]} == {"backfill"}
    assert doc["predictions"][0]["grid"] is not None
    assert [m["baseline"] for m in doc["moments"]] == ["championship", "grid_slot"]
    post = doc["moments"][1]["predictions"]
    assert sum(c["baseline_win_probability"] for c in post) == pytest.approx(100, abs=0.1)
    pole = min(post, key=lambda c: c["grid"])
    assert pole["baseline_win_probability"] == max(c["baseline_win_probability"] for c in post)
    finish = {c["code"]: c["finish_position"] for c in post}
    assert finish["VER"] == 1 and sorted(p for p in finish.values() if p)[:3] == [1, 2, 3]
    missing = await api.get("/api/v1/predictions/race/999999")
    assert missing.status_code == 404 and "not in the database" in missing.json()["detail"]
    unpredicted = await api.get(f"/api/v1/predictions/race/{race(db, 2022, 1)}")
    assert unpredicted.status_code == 404 and "no prediction" in unpredicted.json()["detail"]
    for bad in ("0", "abc"):
        assert (await api.get(f"/api/v1/predictions/race/{bad}")).status_code == 422


async def test_calendar(api, db: Settings) -> None:
    doc = (await api.get("/api/v1/races/calendar", params={"season": 2023})).json()
    assert doc["season"] == 2023 and len(doc["races"]) == 22
    assert all(r["status"] == "completed" for r in doc["races"])
    assert sum(r["winner"] == "Max Verstappen" for r in doc["races"]) == 19
    assert all(r["prediction"]["moment"] == "post" for r in doc["races"])  # back-filled
    assert sum(r["sprint_weekend"] for r in doc["races"]) == 6
    nxt = (await api.get("/api/v1/races/calendar")).json()  # default: the next race's season
    assert nxt["season"] == 2024 and nxt["races"][0]["prediction"]["moment"] == "pre"
    assert all(r["prediction"] is None for r in nxt["races"][1:])
    bad = await api.get("/api/v1/races/calendar", params={"season": 1900})
    assert bad.status_code == 422 and "1950" in bad.json()["detail"]
    none = await api.get("/api/v1/races/calendar", params={"season": 2030})
    assert none.status_code == 404 and "2022-2024" in none.json()["detail"]


async def test_results_with_weather(api, db: Settings) -> None:
    spain = (await api.get(f"/api/v1/races/{race(db, 2023, 7)}/results")).json()
    assert spain["race_name"] == "Spanish Grand Prix"
    assert [r["position"] for r in spain["results"][:3]] == [1, 2, 3]
    assert spain["results"][0]["code"] == "VER" and spain["results"][0]["points"] == 26
    w = spain["weather"]
    assert w["source_session"] == "R" and w["conditions"] == "dry" and w["temperature"] > 15
    assert {s["session"] for s in w["sessions"]} == {"FP1", "R"}
    miami = (await api.get(f"/api/v1/races/{race(db, 2023, 5)}/results")).json()
    assert miami["weather"] is None  # no FastF1 weather for that weekend
    sprint = (await api.get(f"/api/v1/races/{race(db, 2023, 4)}/results")).json()
    assert len(sprint["sprint_results"]) == 20  # Baku was a sprint weekend
    future = await api.get(f"/api/v1/races/{race(db, 2024, 1)}/results")
    assert future.status_code == 404 and "no results yet" in future.json()["detail"]


async def test_accuracy(api) -> None:
    doc = (await api.get("/api/v1/analytics/accuracy", params={"season": 2023})).json()
    assert doc["moment"] == "post" and doc["baseline"] == "grid_slot"
    assert doc["races_completed"] == 22 == len(doc["by_race"])
    assert 0 <= doc["correct_winner_percentage"] <= 100
    iv = doc["intervals"]["win_brier"]
    assert iv["lo"] <= doc["average_brier_score"] <= iv["hi"]
    first = doc["by_race"][0]
    assert first["baseline"]["win_brier"] == first["baseline_brier_score"]
    # the chance each gave the winner, and the baseline's season figures beside the model's
    import math

    assert first["winner_probability"] == pytest.approx(
        100 * math.exp(-first["log_loss"]), abs=0.01
    )
    assert 0 < first["baseline_winner_probability"] <= 100
    assert doc["baseline_intervals"]["win_brier"]["mean"] == pytest.approx(
        doc["baseline_average_brier_score"]
    )
    assert doc["baseline_correct_winner_percentage"] is not None
    pre = (await api.get("/api/v1/analytics/accuracy?season=2023&moment=pre")).json()
    assert pre["baseline"] == "championship" and pre["races_completed"] == 22
    bad = await api.get("/api/v1/analytics/accuracy?season=2023&moment=later")
    assert bad.status_code == 422 and "moment" in bad.json()["detail"]


async def test_rankings_and_rating_history(api) -> None:
    page1 = (await api.get("/api/v1/analytics/driver-rankings?season=2023&limit=5")).json()
    assert page1["total"] == 22 and len(page1["rankings"]) == 5
    top = page1["rankings"][0]
    assert (top["code"], top["championship_points"], top["wins"]) == ("VER", 575, 19)
    page2 = (await api.get("/api/v1/analytics/driver-rankings?season=2023&limit=5&offset=5")).json()
    assert page2["rankings"][0]["rank"] == 6
    assert not {r["driver_id"] for r in page1["rankings"]} & {
        r["driver_id"] for r in page2["rankings"]
    }
    for q in ("limit=0", "limit=1000", "offset=-1"):
        assert (await api.get(f"/api/v1/analytics/driver-rankings?{q}")).status_code == 422
    hist = (
        await api.get("/api/v1/analytics/rating-history?season=2023&kind=constructor&top=3")
    ).json()
    assert len(hist["races"]) == 22 and len(hist["series"]) == 3
    assert hist["series"][0]["name"] == "Red Bull" and len(hist["series"][0]["ratings"]) == 22
    assert (await api.get("/api/v1/analytics/rating-history?kind=team")).status_code == 422


async def test_standings(api) -> None:
    drivers = (await api.get("/api/v1/standings/drivers?season=2023")).json()
    assert drivers["round"] == 22 and drivers["total"] == 22
    assert (drivers["standings"][0]["code"], drivers["standings"][0]["points"]) == ("VER", 575)
    early = (await api.get("/api/v1/standings/drivers?season=2023&round=5&limit=2")).json()
    assert early["round"] == 5 and len(early["standings"]) == 2
    teams = (await api.get("/api/v1/standings/constructors?season=2023")).json()
    assert (teams["standings"][0]["team"], teams["standings"][0]["points"]) == ("Red Bull", 860)
    late = await api.get("/api/v1/standings/drivers?season=2023&round=30")
    assert late.status_code == 404 and "1-22" in late.json()["detail"]
    assert (await api.get("/api/v1/standings/teams")).status_code == 422
    assert (await api.get("/api/v1/standings/drivers?round=0")).status_code == 422


async def test_exports(api, db: Settings) -> None:
    resp = await api.get("/api/v1/export/race-results?season=2023&format=csv")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert len(rows) == one(db, "SELECT count(*) FROM results JOIN races USING (race_id) "
                               "WHERE season = 2023")[0]  # fmt: skip
    assert rows[0]["driver_name"] == "Max Verstappen" and rows[0]["position"] == "1"
    as_json = (await api.get("/api/v1/export/race-results?season=2023&format=json")).json()
    assert len(as_json) == len(rows)
    finale = race(db, 2023, 22)
    preds = (await api.get(f"/api/v1/export/predictions?race_id={finale}&format=json")).json()
    assert len(preds) == 40 and {p["moment"] for p in preds} == {"pre", "post"}
    assert sum(p["win_probability"] for p in preds if p["moment"] == "pre") == pytest.approx(
        100, abs=0.1
    )
    assert (
        "attachment"
        in (await api.get(f"/api/v1/export/predictions?race_id={finale}")).headers[
            "content-disposition"
        ]
    )
    for url in (
        "/api/v1/export/race-results?season=2023&format=xml",
        "/api/v1/export/race-results",
        "/api/v1/export/predictions",
    ):
        assert (await api.get(url)).status_code == 422, url
    none = await api.get(f"/api/v1/export/predictions?race_id={race(db, 2022, 3)}")
    assert none.status_code == 404


async def test_openapi_documents_the_constraints(api) -> None:
    spec = (await api.get("/openapi.json")).json()
    paths = spec["paths"]
    for path in (
        "/api/v1/predictions/next-race", "/api/v1/predictions/race/{race_id}",
        "/api/v1/races/calendar", "/api/v1/races/{race_id}/results", "/api/v1/analytics/accuracy",
        "/api/v1/analytics/driver-rankings", "/api/v1/standings/{kind}",
        "/api/v1/export/race-results", "/api/v1/export/predictions",
    ):  # fmt: skip
        assert path in paths, path
    params = {p["name"]: p["schema"] for p in paths["/api/v1/races/calendar"]["get"]["parameters"]}
    season = params["season"]["anyOf"][0]
    assert (season["minimum"], season["maximum"]) == (1950, 2100)
    export = paths["/api/v1/export/race-results"]["get"]["parameters"]
    fmt = next(p for p in export if p["name"] == "format")
    assert "$ref" in fmt["schema"] or "enum" in fmt["schema"]
    ok = paths["/api/v1/predictions/next-race"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"]["$ref"].endswith("RacePrediction")


@pytest.fixture(scope="module")
def page_server(db: Settings, tmp_path_factory: pytest.TempPathFactory):
    """``pitwall serve`` on this module's database."""
    with serving("serve-prerace", tmp_path_factory.mktemp("s")) as base:
        yield base


async def test_next_race_page_shows_the_bars(page_server: str, db: Settings) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium not installed (apt-get install -y chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page(viewport={"width": 1400, "height": 950}, bypass_csp=True)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        await page.goto(f"{page_server}/next-race")
        await page.wait_for_function("window.prerace && window.prerace.ready", timeout=30_000)
        rows = await page.eval_on_selector_all(
            ".chance[data-driver]",
            "els => els.map(e => ({d: e.dataset.driver, "
            "win: parseFloat(e.querySelector('.fill.win').style.width), "
            "pod: parseFloat(e.querySelector('.fill.podium').style.width), "
            "ticks: e.querySelectorAll('.tick').length}))",
        )
        ARTIFACTS = REPO / "artifacts"
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "next-race.png"), full_page=True)
        # a finished race with both moments: the grid appears after qualifying
        finale = race(db, 2023, 22)
        await page.goto(f"{page_server}/next-race?race={finale}")
        await page.wait_for_function("window.prerace && window.prerace.ready", timeout=30_000)
        await page.screenshot(path=str(ARTIFACTS / "next-race-finished.png"), full_page=True)
        results = await page.eval_on_selector_all(
            ".chance .result", "els => els.map(e => e.textContent)"
        )
        slots_after = await page.eval_on_selector_all("#grid .slot", "els => els.length")
        await page.click("#moment-toggle button[data-m=pre]")
        slots_before = await page.eval_on_selector_all("#grid .slot", "els => els.length")
        header_links = await page.eval_on_selector_all(".nav a", "els => els.length")
        # the accuracy page: the baseline's figures and the winner's chance beside the model's
        await page.goto(f"{page_server}/accuracy?season=2023")
        await page.wait_for_function("window.prerace && window.prerace.ready", timeout=30_000)
        await page.screenshot(path=str(ARTIFACTS / "accuracy.png"), full_page=True)
        heads = await page.eval_on_selector_all(
            "#acc-table th", "els => els.map(e => e.textContent)"
        )
        await browser.close()
    assert not errors, errors
    assert len(rows) == 20 and rows[0]["d"] == "VER"
    assert sum(r["win"] for r in rows) == pytest.approx(100, abs=0.5)
    assert sum(r["pod"] for r in rows) == pytest.approx(300, abs=0.5)
    assert [r["win"] for r in rows] == sorted((r["win"] for r in rows), reverse=True)
    assert slots_after == 20 and slots_before == 0 and header_links >= 10
    assert all(r["ticks"] == 2 for r in rows)  # the baseline's win and podium chances
    assert "P1" in results and len(results) == 20
    assert "Winner's chance: model" in heads and "grid slot" in heads


async def test_next_race_while_loading_and_with_no_race_ahead(
    stack: Settings, tmp_path: Path
) -> None:
    """While an ingest holds the history's lock the next-race page says it is being loaded
    (503) rather than "run pitwall ingest"; with a calendar that ends at the last race run,
    it shows the latest race with predictions beside its result, and says so."""
    from api.main import create_app
    from prerace.loading import loading

    src = ergast_source(stack)
    folder = write_subset(src, tmp_path / "ergast", range(2023, 2024))
    with own_database(stack, redis_db=5) as settings:
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as c:
                with psycopg.connect(settings.require_database, autocommit=True) as conn:
                    with loading(conn):
                        busy = await c.get("/api/v1/predictions/next-race")
                        acc = await c.get("/api/v1/analytics/accuracy")
                    idle = await c.get("/api/v1/predictions/next-race")
                pitwall("ingest", "ergast", str(folder))
                doc = (await c.get("/api/v1/predictions/next-race")).json()
    assert busy.status_code == 503 and "being loaded" in busy.json()["detail"], busy.text
    assert acc.status_code == 503 and "being loaded" in acc.json()["detail"], acc.text
    assert idle.status_code in (404, 503) and "pitwall ingest ergast" in idle.json()["detail"]
    assert (doc["season"], doc["round"], doc["status"]) == (2023, 22, "completed")
    assert "No race ahead in the calendar" in doc["notice"]
    post = doc["moments"][-1]["predictions"]
    assert {c["code"]: c["finish_position"] for c in post}["VER"] == 1
    assert all(c["baseline_win_probability"] is not None for c in post)
