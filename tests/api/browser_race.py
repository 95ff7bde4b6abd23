"""What the dashboard's browser tests share: headless Chromium (Debian's, driven by
Playwright), one real race replayed at the demo's pace for all of them, and the screenshots.

The race is 2023 Bahrain through the real pipeline (sink and worker): laps 1-34 fast-forwarded
(a burst the Redis writer and the worker catch up on, as after ``--from-lap``), then paced at
20x to the flag. Its clock can be paused mid-race (the planner, the layouts and the
mid-race screenshots look at one moment) and resumed. Screenshots go to
``artifacts/screenshots/`` (ignored by git).
"""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from core.settings import Settings
from tests.api.conftest import REPO, unique_key

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = REPO / "artifacts" / "screenshots"
SPEED = 20.0
FROM_LAP = 35
LAPS = 57
#: The retired cars and their laps completed, as the official classification has them.
RETIRED = {"PIA": 13, "LEC": 39, "OCO": 41}

#: The highest lap any car has completed, as the page holds it.
LAP_JS = "Math.max(0, ...[...window.pitwall.standings.values()].map(r => r.lap_number || 0))"


def need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium not installed (make browser, or apt-get install -y chromium)")


@dataclass
class LiveRace:
    """The shared race: its session key, timeline, clock and publishing thread."""

    key: str
    timeline: Any
    official: list[tuple[str, float | None, str]]
    clock: Any
    services: list
    thread: threading.Thread | None = None
    errors: list[BaseException] = field(default_factory=list)

    def start(self) -> None:
        """Publish the race (once), in the background."""
        if self.thread is not None:
            return
        from core.settings import get_settings
        from producers.kafka import EventProducer
        from replay.simulate import publish_timeline

        def run() -> None:
            producer = EventProducer(get_settings().require_kafka)
            try:
                publish_timeline(
                    self.timeline, producer, speed=SPEED, from_lap=FROM_LAP, clock=self.clock
                )
            except BaseException as exc:  # reported by the tests that wait
                self.errors.append(exc)
            finally:
                producer.close()

        self.thread = threading.Thread(target=run, name="bahrain-20x", daemon=True)
        self.thread.start()

    def pause(self) -> None:
        self.clock.pause()

    def resume(self) -> None:
        self.clock.resume()

    def logs(self) -> str:
        return "\n".join(f"--- {s.name}\n{s.tail()}" for s in self.services)

    def final_laps(self) -> dict[str, int]:
        """Each car's last lap in the race."""
        out: dict[str, int] = {}
        for e in self.timeline.events:
            if e.type == "lap":
                out[e.driver] = max(out.get(e.driver, 0), e.lap_number)
        return out

    def stints(self) -> dict[str, list[tuple[str | None, int, int]]]:
        """Each car's stints in the replay: (compound, first lap, last lap)."""
        laps: dict[str, dict[int, list]] = {}
        for e in self.timeline.events:
            if e.type == "lap":
                laps.setdefault(e.driver, {}).setdefault(e.stint, []).append(e)
        out = {}
        for driver, by_stint in laps.items():
            stints = sorted(by_stint.values(), key=lambda ls: min(x.lap_number for x in ls))
            out[driver] = [
                (
                    next((x.compound for x in ls if x.compound), None),
                    min(x.lap_number for x in ls),
                    max(x.lap_number for x in ls),
                )
                for ls in stints
            ]
        return out


@pytest.fixture(scope="session")
def live_race(stack: Settings, pipeline: dict) -> LiveRace:
    if not pipeline["worker"]:
        pytest.skip("no stream worker: no strategy, no planner")
    from replay.clock import PacingClock
    from replay.timeline import build_timeline
    from tests.strategy.test_standings import official_classification

    timeline = build_timeline(2023, "Bahrain", settings=stack)
    key = unique_key(timeline, "dash")
    return LiveRace(
        key=key,
        timeline=timeline.with_session_key(key),
        official=official_classification(stack, 2023, "Bahrain"),
        clock=PacingClock(0.0, SPEED),
        services=pipeline["services"],
    )


@pytest.fixture(scope="session")
async def chromium():
    need_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        await browser.close()


class Page:
    """A page in a context of its own (its own localStorage), with its errors and dialogs."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("pageerror", lambda e: self.errors.append(str(e)))

        async def dismiss(d: Any) -> None:
            self.dialogs.append(d.message)
            await d.dismiss()

        page.on("dialog", dismiss)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.page, name)


async def new_page(
    browser: Any, width: int = 1600, height: int = 1000, delay: int | None = None
) -> Page:
    """A page ``width`` px wide; ``delay``: the broadcast delay already set in its browser.
    The CSP is bypassed: Playwright's waits evaluate strings (the CSP test checks it)."""
    context = await browser.new_context(
        viewport={"width": width, "height": height}, bypass_csp=True
    )
    if delay is not None:
        await context.add_init_script(f"localStorage.setItem('pitwall.delay', '{int(delay)}')")
    return Page(await context.new_page())


async def shoot(page: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


#: Every tower header and the first row's cells: hidden, outside the viewport, or covered.
LAYOUT_JS = """() => {
  const vw = window.innerWidth, problems = [];
  const phone = getComputedStyle(document.querySelector('#tower thead')).display === 'none';
  const cells = [...(phone ? [] : document.querySelectorAll('#tower thead th')),
                 ...document.querySelectorAll('#tower tbody tr:first-child td')];
  for (const c of cells) {
    const name = c.dataset.label || c.textContent.trim();
    if (getComputedStyle(c).display === 'none' || getComputedStyle(c).visibility === 'hidden') {
      problems.push(['hidden', name]); continue;
    }
    c.scrollIntoView({block: 'center', inline: 'nearest'});
    const r = c.getBoundingClientRect();
    if (r.width < 4 || r.left < -0.5 || r.right > vw + 0.5) {
      problems.push(['outside', name, Math.round(r.left), Math.round(r.right)]); continue;
    }
    const x = r.left + r.width / 2, y = r.top + Math.min(r.height / 2, 8);
    const hit = document.elementFromPoint(x, y);
    if (!hit || !(c === hit || c.contains(hit))) {
      problems.push(['covered', name, hit && hit.className]);
    }
  }
  window.scrollTo(0, 0);
  const scrollWidth = document.documentElement.scrollWidth;
  return {scrollWidth, width: vw, cells: cells.length, problems};
}"""
