"""The dashboard in headless Chromium (Debian's, driven by Playwright) during a real replay:
the timing tower and the pit windows update live. Screenshot: artifacts/dashboard.png."""

from __future__ import annotations

import shutil
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from tests.api.conftest import REPO, publish, unique_key

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = REPO / "artifacts"

pytestmark = pytest.mark.asyncio(loop_scope="session")


def laps_between(timeline, first: int, last: int):
    start = timeline.lap_start_time(first) if first > 1 else None
    end = timeline.lap_start_time(last + 1)
    events = [
        e
        for e in timeline.events
        if (e.type == "session" and first == 1)
        or (
            (start is None or e.event_time.session_time >= start)
            and (end is None or e.event_time.session_time < end)
        )
    ]
    return replace(timeline, events=events)


async def test_dashboard_updates_live_during_a_replay(
    server: str, pipeline: dict, timeline
) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium not installed (apt-get install -y chromium)")
    from playwright.async_api import async_playwright

    key = unique_key(timeline, "ui")
    race = timeline.with_session_key(key)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page(viewport={"width": 1600, "height": 1000}, bypass_csp=True)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        await page.goto(f"{server}/?session={key}")
        await page.wait_for_function(
            "window.pitwall && window.pitwall.ws && window.pitwall.ws.readyState === 1"
        )

        first = threading.Thread(target=publish, args=(laps_between(race, 1, 30),))
        first.start()
        await page.wait_for_function(
            "document.querySelectorAll('#tower tbody tr').length >= 19", timeout=60_000
        )
        await page.wait_for_function(
            "window.pitwall.strategy ? window.pitwall.strategy.lap >= 25 : "
            "Math.max(...[...window.pitwall.standings.values()].map(r => r.lap_number||0)) >= 29",
            timeout=60_000,
        )
        first.join()
        tower_before = await page.inner_text("#tower tbody")
        windows_before = await page.eval_on_selector_all(
            "#tower .strip .label", "els => els.map(e => e.textContent)"
        )
        lap_before = await page.inner_text("#lap-counter")

        second = threading.Thread(target=publish, args=(laps_between(race, 31, 60),))
        second.start()
        await page.wait_for_function(
            "Math.max(...[...window.pitwall.standings.values()].map(r => r.lap_number||0)) >= 59",
            timeout=60_000,
        )
        if pipeline["worker"]:
            try:
                await page.wait_for_function(
                    "window.pitwall.strategy && window.pitwall.strategy.lap >= 55", timeout=90_000
                )
            except Exception:
                logs = "\n".join(f"--- {s.name}\n{s.tail()}" for s in pipeline["services"])
                pytest.fail(f"no strategy update for lap 55 reached the page\n{logs}")
        second.join()
        await page.wait_for_timeout(300)  # one animation frame and a bit
        tower_after = await page.inner_text("#tower tbody")
        windows_after = await page.eval_on_selector_all(
            "#tower .strip .label", "els => els.map(e => e.textContent)"
        )
        lap_after = await page.inner_text("#lap-counter")
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
        await browser.close()

    assert not errors, errors
    assert "VER" in tower_after and tower_after != tower_before
    assert lap_before != lap_after
    if pipeline["worker"]:
        assert len(windows_after) >= 15  # one pit-window strip per running car
        assert windows_after != windows_before  # windows move as the race goes on


async def test_pages_run_under_their_content_security_policy(server: str) -> None:
    """The other browser tests bypass the CSP (Playwright's waits evaluate strings, which
    ``script-src 'self'`` forbids); here every page loads with it enforced, runs its own
    scripts (what they render appears) and the browser reports no violation."""
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium not installed (apt-get install -y chromium)")
    from playwright.async_api import async_playwright

    pages = {
        "/dashboard": "#tower",
        "/compare": "select, input",
        "/next-race": "main, body",
        "/battles": "select, input",
    }
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page()
        console: list[str] = []
        page.on("console", lambda m: console.append(m.text))
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        for path, selector in pages.items():
            response = await page.goto(f"{server}{path}")
            assert response is not None and "script-src 'self'" in (
                response.headers.get("content-security-policy", "")
            )
            await page.wait_for_selector(selector, state="attached", timeout=20_000)
            await page.wait_for_load_state("networkidle")
        await browser.close()
    violations = [m for m in console if "Content Security Policy" in m]
    assert not violations and not errors, violations + errors
