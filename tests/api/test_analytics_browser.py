"""The analytics pages in headless Chromium (Debian's, driven by Playwright) against a real
``pitwall serve``: the compare page on 2023 Monaco, the battles page on 2023 Bahrain, the
telemetry page on 2025 Australia qualifying (NOR vs PIA), and the
track map during a real 2025 Australia replay with its car telemetry, whose markers move as
the Redis writer publishes positions. Screenshots: artifacts/compare.png, battles.png,
telemetry.png, track_map.png."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from tests.api.conftest import REPO, publish, unique_key
from tests.api.test_dashboard_browser import laps_between

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = REPO / "artifacts"

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium not installed (apt-get install -y chromium)")


async def _browser(p):
    return await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])


async def test_compare_and_battles_pages(server: str) -> None:
    _need_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await _browser(p)
        page = await browser.new_page(viewport={"width": 1500, "height": 1300}, bypass_csp=True)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        await page.goto(f"{server}/dashboard?session=2023-monaco-R")
        href = await page.get_attribute("#pages-nav a[href^='/compare']", "href")
        assert href.startswith("/compare")
        await page.goto(f"{server}/compare?session=2023-monaco-R&drivers=VER,ALO")
        await page.wait_for_function(
            "window.pitwallCompare && window.pitwallCompare.data && !window.pitwallCompare.loading",
            timeout=120_000,
        )
        await page.wait_for_function("document.querySelectorAll('.uplot').length >= 2")
        boxes = await page.locator("#dist rect.box").count()
        pace_rows = await page.inner_text("#pace tbody")
        sectors = await page.inner_text("#sectors tbody")
        title = await page.inner_text("#event-name")
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "compare.png"), full_page=True)

        # A driver who did not race: the page says so.
        await page.fill("#drivers", "VER,XYZ")
        await page.click("button[type=submit]")
        await page.wait_for_function("document.getElementById('error').textContent.length > 0")
        error = await page.inner_text("#error")

        await page.goto(f"{server}/battles?session=2023-bahrain-R&lap=37")
        await page.wait_for_function(
            "document.querySelectorAll('#battles tbody tr').length >= 15", timeout=120_000
        )
        battles = await page.inner_text("#battles tbody")
        await page.screenshot(path=str(ARTIFACTS / "battles.png"), full_page=True)

        await page.goto(f"{server}/telemetry?session=2025-australian-Q&drivers=NOR,PIA")
        await page.wait_for_function(
            "window.pitwallTelemetry && window.pitwallTelemetry.data "
            "&& document.querySelectorAll('.uplot').length >= 4",
            timeout=120_000,
        )
        minis = await page.locator("#minis i").count()
        corners = await page.locator("#corners tbody tr").count()
        await page.screenshot(path=str(ARTIFACTS / "telemetry.png"), full_page=True)
        await browser.close()

    assert not errors, errors
    assert "Monaco" in title and "VER vs ALO" in title
    assert boxes == 2 and "VER" in pace_rows and "ALO" in pace_rows
    assert "ref" in sectors
    assert "XYZ did not run" in error
    assert "HAM" in battles and "yes" in battles  # Alonso's pass on Hamilton, lap 38
    assert minis == 25 and corners >= 5


async def test_track_map_markers_move_during_a_replay(server: str, pipeline: dict, stack) -> None:
    _need_chromium()
    from playwright.async_api import async_playwright

    from replay.timeline import build_timeline

    timeline = build_timeline(2025, "Australia", "R", settings=stack, telemetry_every=5)
    key = unique_key(timeline, "map")
    race = laps_between(timeline.with_session_key(key), 3, 4)
    assert sum(1 for e in race.events if e.type == "telemetry") > 5_000

    async with async_playwright() as p:
        browser = await _browser(p)
        page = await browser.new_page(viewport={"width": 1300, "height": 900}, bypass_csp=True)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        await page.goto(f"{server}/track?session={key}")
        await page.wait_for_function(
            "(t => t && t.map && t.live && t.live.socket && t.live.socket.readyState === 1)"
            "(window.pitwallTrack)",
            timeout=120_000,
        )
        frame = await page.evaluate("window.pitwallTrack.map.frame")
        replay = threading.Thread(target=publish, args=(race, 10.0))
        replay.start()
        try:
            await page.wait_for_function("window.pitwallTrack.cars.size >= 15", timeout=90_000)
            first = await page.evaluate(
                "Object.fromEntries([...window.pitwallTrack.cars].map(([d, g]) => "
                "[d, g.getAttribute('transform')]))"
            )
            await page.wait_for_timeout(1500)
            second = await page.evaluate(
                "Object.fromEntries([...window.pitwallTrack.cars].map(([d, g]) => "
                "[d, g.getAttribute('transform')]))"
            )
            updates = await page.evaluate("window.pitwallTrack.updates")
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "track_map.png"), full_page=True)
        finally:
            replay.join()
        await browser.close()

    assert not errors, errors
    assert frame == "car"
    moved = [d for d in first if d in second and first[d] != second[d]]
    assert len(moved) >= 10, (first, second)
    assert updates >= 5


async def test_battles_page_follows_the_live_forecast(server: str, pipeline: dict, stack) -> None:
    """A forecast published on f1.battles.v1 reaches the page through the Redis writer and
    the gateway (the stream worker is what publishes them in a race)."""
    _need_chromium()
    import uuid

    from playwright.async_api import async_playwright

    from producers.kafka import EventProducer
    from schemas import BattlePair, BattlesEvent, EventTime

    key = f"2023-bahrain-R-live{uuid.uuid4().hex[:6]}"
    async with async_playwright() as p:
        browser = await _browser(p)
        page = await browser.new_page(viewport={"width": 1300, "height": 700}, bypass_csp=True)
        await page.goto(f"{server}/battles?session={key}")
        await page.wait_for_function(
            "(b => b && b.live && b.live.socket && b.live.socket.readyState === 1)"
            "(window.pitwallBattles)",
            timeout=120_000,
        )
        pair = BattlePair(position=6, ahead="HAM", behind="ALO", gap=0.62, drs=True,
                          p_pass_1=0.13, p_pass_3=0.37, p_pass_5=0.42)  # fmt: skip
        producer = EventProducer(stack.require_kafka)
        try:
            producer.publish(
                BattlesEvent(
                    session_key=key,
                    event_time=EventTime(session_time=5000.0),
                    lap=37,
                    model_version="test",
                    pairs=[pair],
                )
            )
            producer.flush()
        finally:
            producer.close()
        await page.wait_for_function("window.pitwallBattles.updates >= 1", timeout=60_000)
        rows = await page.inner_text("#battles tbody")
        source = await page.inner_text("#source")
        lap = await page.inner_text("#lap-counter")
        await browser.close()
    assert "live" in source and "37" in lap
    assert "ALO" in rows and "37%" in rows and rows.count("\n") == 0  # the one live pair
