"""The dashboard after 2023 Bahrain's flag, in headless Chromium (Debian's, driven by
Playwright): issue 24 as a user saw it.

The page is opened on a fresh session key before the race is replayed (max speed) through
the real pipeline (sink and worker), so the tower is built from the live WebSocket updates;
the page is then reloaded, so it is built again from the gateway's snapshot. Both times,
after the flag: Piastri, Leclerc and Ocon, who retired, are OUT rows at the bottom of the
tower (the latest out first, with their lap) with no rejoin projection, and every running
car's rejoin column holds a projected position with the cars either side, none of them out
of the race. Screenshot: artifacts/dashboard_out.png.
"""

from __future__ import annotations

import re
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest

from core.settings import Settings
from tests.api.conftest import REPO, publish, unique_key
from tests.api.test_race_state import RETIRED

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = REPO / "artifacts"
LAPS = 57  # 2023 Bahrain

#: Each tower row: driver, position cell, gap cell, rejoin cell, classes.
ROWS_JS = """trs => trs.map(tr => ({
    driver: tr.dataset.driver,
    pos: tr.querySelector('td.pos').textContent.trim(),
    gap: tr.cells[2].textContent.trim(),
    rejoin: tr.querySelector('td.rejoin').textContent.trim(),
    cls: tr.className,
}))"""
#: The page holds the flag: the last strategy update of the race with the three retired cars
#: out of it, and their standings rows marked out.
AFTER_FLAG_JS = f"""(s => s.strategy && s.strategy.lap >= {LAPS}
    && (s.strategy.retired || []).length === {len(RETIRED)}
    && [...s.standings.values()].filter(r => r.retired).length === {len(RETIRED)}
    && Math.max(...[...s.standings.values()].map(r => r.lap_number || 0)) >= {LAPS}
)(window.pitwall)"""
REJOIN = re.compile(r"^P(\d+)\b")
NEIGHBOUR = re.compile(r"\b([A-Z]{3}) [+\u2212]\d")

pytestmark = pytest.mark.asyncio(loop_scope="session")


def check_tower(rows: list[dict[str, Any]], drivers: set[str], when: str) -> None:
    """OUT rows for the retired cars at the bottom, the latest out first; a rejoin
    projection with its neighbours for every running car."""
    assert len(rows) == len(drivers), (when, rows)
    out = rows[-len(RETIRED) :]
    latest_first = sorted(RETIRED, key=lambda d: -RETIRED[d])
    assert [r["driver"] for r in out] == latest_first, (when, out)
    for r in out:
        assert r["pos"] == "OUT" and "retired" in r["cls"].split(), (when, r)
        assert r["gap"] == f"L{RETIRED[r['driver']]}" and r["rejoin"] == "", (when, r)
    running = rows[: -len(RETIRED)]
    assert {r["driver"] for r in running} == drivers - set(RETIRED), when
    for r in running:
        assert r["pos"].isdigit(), (when, r)
        projected = REJOIN.match(r["rejoin"])
        assert projected and 1 <= int(projected[1]) <= len(running), (when, r)
        around = set(NEIGHBOUR.findall(r["rejoin"]))
        assert around, (when, r)  # the car ahead, behind or both, with the gaps
        assert around <= {x["driver"] for x in running} - {r["driver"]}, (when, r)


async def test_dashboard_shows_retired_cars_out_and_rejoin_projection(
    server: str, pipeline: dict, stack: Settings
) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium not installed (apt-get install -y chromium)")
    if not pipeline["worker"]:
        pytest.skip("no stream worker: no strategy updates, so no rejoin projection")
    from playwright.async_api import async_playwright

    from replay.timeline import build_timeline

    timeline = build_timeline(2023, "Bahrain", settings=stack)
    key = unique_key(timeline, "out")
    race = timeline.with_session_key(key)
    drivers = {e.driver for e in race.events if e.type == "lap"}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = await browser.new_page(viewport={"width": 1600, "height": 1100}, bypass_csp=True)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        await page.goto(f"{server}/?session={key}")
        await page.wait_for_function(
            "window.pitwall && window.pitwall.ws && window.pitwall.ws.readyState === 1"
        )
        replay = threading.Thread(target=publish, args=(race,))
        replay.start()
        try:
            await page.wait_for_function(AFTER_FLAG_JS, timeout=150_000, polling=250)
        except Exception:
            logs = "\n".join(f"--- {s.name}\n{s.tail()}" for s in pipeline["services"])
            pytest.fail(f"the page never showed the flag with three cars out\n{logs}")
        finally:
            replay.join()
        await page.wait_for_timeout(500)  # the last updates and one animation frame
        live = await page.eval_on_selector_all("#tower tbody tr", ROWS_JS)

        await page.reload()
        await page.wait_for_function(AFTER_FLAG_JS, timeout=30_000, polling=250)
        await page.wait_for_timeout(300)
        snapshot = await page.eval_on_selector_all("#tower tbody tr", ROWS_JS)
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "dashboard_out.png"), full_page=True)
        await browser.close()

    assert not errors, errors
    check_tower(live, drivers, "live updates")
    check_tower(snapshot, drivers, "snapshot")
