"""The dashboard signing in and staying connected, in headless Chromium against a real
``pitwall serve``, on a race the pipeline landed (``landed``: 2023 Monaco).

With ``PITWALL_AUTH_READS=1`` the page asks for a user, signs in through the auth API, keeps
the token pair in the browser and reads the race (REST and WebSocket); when its access token
is refused it refreshes it with the refresh token, without asking again. When the gateway
goes away the page says it is reconnecting (attempts spaced by a growing backoff) and, once
the gateway is back, takes a fresh snapshot.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from pitwall.embedded.base import free_port
from tests.api import browser_race
from tests.api.browser_race import new_page, shoot
from tests.api.conftest import serving

pytestmark = pytest.mark.asyncio(loop_scope="session")
chromium = browser_race.chromium  # the shared fixtures

TOWER_JS = "document.querySelectorAll('#tower tbody tr').length >= 19"
LIVE_JS = "window.pitwall.conn === 'live'"
USER, PASSWORD = "strategist", "box box box this lap"


async def test_dashboard_signs_in_when_reads_need_a_user(
    chromium, landed: str, tmp_path: Path
) -> None:
    with serving("serve-auth-reads", tmp_path, env={"PITWALL_AUTH_READS": "1"}) as base:
        assert httpx.get(f"{base}/sessions").status_code == 401  # reads need a user here
        made = httpx.post(
            f"{base}/api/v1/auth/register", json={"username": USER, "password": PASSWORD}
        )
        assert made.status_code in (201, 409), made.text  # 409: a rerun on the same database
        page = await new_page(chromium, 1280)
        await page.goto(f"{base}/?session={landed}")
        await page.wait_for_selector("#login:not([hidden])", timeout=20_000)
        await shoot(page, "sign-in-1280")
        await page.fill("#login-user", USER)
        await page.fill("#login-password", "not the password")
        await page.click("#login-form button[type=submit]")
        await page.wait_for_function(
            "document.querySelector('#login-error').textContent.length > 0"
            " && !document.querySelector('#login').hidden"
        )
        await page.fill("#login-password", PASSWORD)
        await page.click("#login-form button[type=submit]")
        await page.wait_for_function(f"{TOWER_JS} && {LIVE_JS}", timeout=30_000)
        assert await page.locator("#login").is_hidden()
        assert USER in await page.inner_text("#user")
        first = await page.evaluate("JSON.parse(localStorage.getItem('pitwall.auth'))")
        assert first["access_token"] and first["refresh_token"]

        # The access token is refused (here: forged): the page refreshes it and reads on.
        await page.evaluate(
            """() => { const p = JSON.parse(localStorage.getItem('pitwall.auth'));
                 p.access_token = p.access_token.slice(0, -4) + 'AAAA';
                 localStorage.setItem('pitwall.auth', JSON.stringify(p)); }"""
        )
        await page.reload()
        await page.wait_for_function(f"{TOWER_JS} && {LIVE_JS}", timeout=30_000)
        assert await page.locator("#login").is_hidden()
        second = await page.evaluate("JSON.parse(localStorage.getItem('pitwall.auth'))")
        assert second["refresh_token"] != first["refresh_token"]  # each refresh token works once
        await shoot(page, "signed-in-1280")
        assert not page.errors, page.errors
        await page.context.close()


async def test_dashboard_reconnects_with_backoff_and_a_fresh_snapshot(
    chromium, landed: str, tmp_path: Path
) -> None:
    port = free_port()
    page = await new_page(chromium, 1280)
    with serving("serve-before", tmp_path, port=port) as base:
        await page.goto(f"{base}/?session={landed}")
        await page.wait_for_function(f"{TOWER_JS} && window.pitwall.snapshots === 1", timeout=30e3)
    # The gateway is gone: the page says so, and its attempts space out.
    await page.wait_for_function(
        "window.pitwall.conn === 'reconnecting' && !document.querySelector('#banner').hidden"
        " && window.pitwall.feed.attempt >= 3",
        timeout=30_000,
    )
    banner = await page.inner_text("#banner")
    assert "reconnecting in" in banner and "attempt" in banner, banner
    assert "reconnecting" in await page.inner_text("#conn-status")
    await shoot(page, "reconnecting-1280")
    assert await page.evaluate(TOWER_JS)  # the last state stays on the page meanwhile
    with serving("serve-after", tmp_path, port=port):
        await page.wait_for_function(
            "window.pitwall.conn === 'live' && window.pitwall.snapshots === 2", timeout=60_000
        )
        assert await page.locator("#banner").is_hidden()
        assert await page.evaluate(TOWER_JS)
    assert not page.errors, page.errors
    await page.context.close()
