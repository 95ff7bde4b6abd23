"""The dashboard a strategist keeps open all race (issue 39), in headless Chromium, on one real
race: 2023 Bahrain replayed through the real pipeline at 20x (``browser_race``).

A page opened before the replay watches it all (live updates only). Mid-race, with the replay
paused: the what-if planner races a chosen stop against the engine's plan and shows the
finishing-position distribution; a race-control message carrying ``<img src=x
onerror=alert(1)>`` is shown as text; no tower column is hidden at 1280 and 1600 px, and every
cell of a car shows on a 390 px phone. With the replay running again: a page with a 12 s
broadcast delay shows each update 12 s after the page without. At the flag: the tower's gaps
and the race trace's last points equal the official classification within 0.5 s, the
strategy chart's stints are the replay's, the retired cars are OUT rows with no rejoin, on the
page that watched the race and on a page built from the snapshot. Screenshots at 390, 1280
and 1600 px, mid-race and at the flag, go to ``artifacts/screenshots/``.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

import pytest

from tests.api import browser_race
from tests.api.browser_race import (
    LAP_JS,
    LAPS,
    LAYOUT_JS,
    RETIRED,
    LiveRace,
    Page,
    new_page,
    shoot,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")
chromium = browser_race.chromium  # the shared fixtures
live_race = browser_race.live_race

WIDTHS = (390, 1280, 1600)
XSS = "<img src=x onerror=alert(1)>"
READY_JS = "window.pitwall && window.pitwall.ws && window.pitwall.ws.readyState === 1"
#: Tower rows as shown: driver, position, gap, rejoin, classes.
ROWS_JS = """trs => trs.map(tr => ({
    driver: tr.dataset.driver,
    pos: tr.querySelector('td.pos').textContent.trim(),
    gap: tr.cells[2].textContent.trim(),
    rejoin: tr.querySelector('td.rejoin').textContent.trim(),
    cls: tr.className,
}))"""
#: The race trace as drawn: driver -> gap (s) at the line of ``lap``.
TRACE_AT_JS = """lap => {
    const u = window.pitwall.race.plot, i = u.data[0].indexOf(lap);
    return Object.fromEntries(u.series.slice(1).map(
      (s, k) => [s.label, i < 0 ? null : u.data[k + 1][i]]));
}"""
#: The strategy chart as drawn: driver -> [[compound, first lap, last lap], ...].
STINTS_JS = """() => Object.fromEntries(
  [...document.querySelectorAll('#strategy-chart g.srow')].map(g => [g.dataset.driver,
    [...g.querySelectorAll('rect.stint')].map(r =>
      [r.dataset.compound || null, Number(r.dataset.from), Number(r.dataset.to)])]))"""
REJOIN = re.compile(r"^P(\d+)\b")
NEIGHBOUR = re.compile(r"\b([A-Z]{3}) [+\u2212]\d")


async def wait(page: Page, race: LiveRace, js: str, timeout_s: float, what: str) -> None:
    try:
        await page.wait_for_function(js, timeout=timeout_s * 1000, polling=250)
    except Exception:
        pytest.fail(f"timed out waiting for {what}\n{race.errors}\n{race.logs()}")


@pytest.fixture(scope="session")
async def watcher(chromium, live_race: LiveRace, server: str) -> Page:
    """The page open before the replay starts: it sees the race through live updates only."""
    page = await new_page(chromium, 1600, 1000)
    await page.goto(f"{server}/?session={live_race.key}")
    await page.wait_for_function(READY_JS)
    live_race.start()
    return page


@pytest.fixture
async def mid_race(watcher: Page, live_race: LiveRace) -> Page:
    """The race held (replay paused) at lap 38 or later, with a strategy update of it."""
    if not live_race.clock.paused:
        await wait(
            watcher, live_race,
            f"{LAP_JS} >= 38 && window.pitwall.strategy && window.pitwall.strategy.lap >= 36",
            300, "lap 38 and its strategy on the page",
        )  # fmt: skip
        live_race.pause()
        await asyncio.sleep(3)  # what was published before the pause lands
    lap = await watcher.evaluate(LAP_JS)
    assert lap < LAPS, f"the race reached lap {lap} before the mid-race checks"
    return watcher


async def open_on(browser: Any, server: str, key: str, width: int, **kw: Any) -> Page:
    page = await new_page(browser, width, **kw)
    await page.goto(f"{server}/?session={key}")
    await page.wait_for_function(READY_JS)
    return page


async def test_planner_races_a_chosen_stop(mid_race: Page, live_race: LiveRace) -> None:
    page = mid_race
    lap = await page.evaluate(LAP_JS)
    driver = await page.evaluate(
        "[...window.pitwall.standings.values()].find(r => r.position === 5).driver"
    )
    await page.select_option("#plan-driver", driver)
    await page.select_option("#plan-stops", "1")
    await page.fill("#plan-lap1", str(lap + 3))
    await page.select_option("#plan-c1", "HARD")
    started = time.perf_counter()
    await page.click("#plan-run")
    await page.wait_for_function(
        "window.pitwall.planner.last || window.pitwall.planner.error", timeout=30_000
    )
    took = time.perf_counter() - started
    error = await page.evaluate("window.pitwall.planner.error")
    assert not error, error
    result = await page.evaluate("window.pitwall.planner.last")
    running = await page.evaluate(
        "[...window.pitwall.standings.values()].filter(r => !r.retired).length"
    )
    print(f"\nplanner: {driver} from lap {result['lap']}, answered in {took * 1000:.0f} ms "
          f"(page {result['roundTripMs']} ms, simulation {result['compute_ms']} ms)")  # fmt: skip
    assert result["driver"] == driver and len(result["outcomes"]) == 2
    mine = result["outcomes"][1]
    assert mine["plan"] == [{"lap": lap + 3, "compound": "HARD"}]
    for outcome in result["outcomes"]:
        dist = outcome["position_distribution"]
        assert len(dist) == running and sum(dist) == pytest.approx(1.0, abs=0.01)
        assert 0 <= outcome["win_prob"] <= outcome["podium_prob"] <= 1
    await page.locator("#planner").scroll_into_view_if_needed()
    await shoot(page, "live-planner-1600")
    bars = await page.locator("[data-testid=planner-distribution] rect").count()
    assert bars == 2 * running
    shown = await page.inner_text("#planner-result")
    assert "your plan" in shown and f"L{lap + 3} Hard" in shown and "engine's plan" in shown


async def test_race_control_text_is_shown_as_text(mid_race: Page, live_race: LiveRace) -> None:
    from core.settings import get_settings
    from producers.kafka import EventProducer
    from schemas import RaceControlEvent
    from schemas.envelope import EventTime

    page = mid_race
    lap = await page.evaluate(LAP_JS)
    producer = EventProducer(get_settings().require_kafka)
    try:
        message = RaceControlEvent(
            session_key=live_race.key, event_time=EventTime(session_time=7800.0),
            category="Other", message=f"CAR 1 (VER) {XSS} NOTED", lap=lap,
        )  # fmt: skip
        producer.publish(message)
        producer.flush(10)
    finally:
        producer.close()
    await page.wait_for_function(
        "document.querySelector('#race-control').textContent.includes('onerror=alert(1)')",
        timeout=30_000,
    )
    await page.wait_for_timeout(500)
    items = await page.eval_on_selector_all(
        "#race-control li", "lis => lis.map(li => li.textContent)"
    )
    assert any(XSS in text for text in items), items
    assert await page.locator("#race-control img").count() == 0
    assert not page.dialogs and not page.errors, (page.dialogs, page.errors)


async def test_no_column_hidden_and_mid_race_screenshots(
    chromium,
    mid_race: Page,
    live_race: LiveRace,
    server: str,
) -> None:
    problems = {}
    for width in WIDTHS:
        page = await open_on(chromium, server, live_race.key, width)
        await page.wait_for_function(
            "document.querySelectorAll('#tower tbody tr').length >= 19 && "
            "document.querySelectorAll('#strategy-chart rect.stint').length >= 20",
            timeout=30_000,
        )
        await page.wait_for_timeout(500)
        layout = await page.evaluate(LAYOUT_JS)
        await shoot(page, f"live-mid-race-{width}")
        assert not page.errors, page.errors
        problems[width] = layout
        await page.context.close()
    for width, layout in problems.items():
        assert layout["cells"] >= 16, layout
        assert layout["scrollWidth"] <= width, (width, layout)
        assert not layout["problems"], (width, layout)


async def test_broadcast_delay_holds_updates_back(
    chromium,
    watcher: Page,
    live_race: LiveRace,
    server: str,
) -> None:
    delay = 12
    delayed = await open_on(chromium, server, live_race.key, 1280, delay=delay)
    opened = time.monotonic()
    live_race.resume()
    assert await delayed.evaluate("window.pitwall.feed.delay") == delay
    # The snapshot is held back too: nothing shows for the delay.
    await delayed.wait_for_function("window.pitwall.feed.held >= 1", timeout=10_000)
    assert await delayed.evaluate("document.querySelectorAll('#tower tbody tr').length") == 0
    await wait(delayed, live_race, "document.querySelectorAll('#tower tbody tr').length >= 17",
               delay + 30, "the delayed snapshot")  # fmt: skip
    assert time.monotonic() - opened >= delay - 1
    # A new lap: the page without delay shows it at once, the delayed page 12 s later.
    lap = await watcher.evaluate(LAP_JS)
    await wait(watcher, live_race, f"{LAP_JS} > {lap}", 120, "a new lap on the live page")
    seen = time.monotonic()
    new = await watcher.evaluate(LAP_JS)
    assert await delayed.evaluate(LAP_JS) < new  # held back
    assert await delayed.evaluate("window.pitwall.feed.held") > 0
    await wait(delayed, live_race, f"{LAP_JS} >= {new}", delay + 30, "the lap on the delayed page")
    lag = time.monotonic() - seen
    print(f"\nlap {new}: shown {lag:.1f} s later with a {delay} s delay")
    assert lag >= delay - 1.5
    assert not delayed.errors, delayed.errors
    await delayed.context.close()


def gap_value(text: str) -> float | None:
    if text == "LEADER":
        return 0.0
    return float(text[1:]) if re.fullmatch(r"\+\d+\.\d{3}", text) else None


def check_classification(rows: list[dict], trace: dict, official: list, when: str) -> None:
    """Tower order and gaps, and the trace's points at the flag, against the official
    classification (lapped cars in laps, retired cars OUT)."""
    assert [r["driver"] for r in rows] == [d for d, _, _ in official], (when, rows)
    for row, (driver, gap, status) in zip(rows, official, strict=True):
        if gap is not None:
            shown = gap_value(row["gap"])
            assert shown is not None and abs(shown - gap) <= 0.5, (when, driver, row, gap)
            assert trace[driver] is not None and abs(trace[driver] - gap) <= 0.5, (
                when, driver, trace[driver], gap,
            )  # fmt: skip
        elif status.startswith("+"):
            assert row["gap"].startswith(status[:2]) and "LAP" in row["gap"], (when, row)
        else:
            assert row["pos"] == "OUT" and row["gap"] == f"L{RETIRED[driver]}", (when, row)


def check_out_and_rejoin(rows: list[dict], when: str) -> None:
    """OUT rows for the retired cars, the latest out first, no rejoin; a rejoin projection
    with its neighbours (none of them out) for every running car."""
    out = rows[-len(RETIRED) :]
    assert [r["driver"] for r in out] == sorted(RETIRED, key=lambda d: -RETIRED[d]), (when, out)
    for r in out:
        assert "retired" in r["cls"].split() and r["rejoin"] == "", (when, r)
    running = rows[: -len(RETIRED)]
    names = {x["driver"] for x in running}
    for r in running:
        projected = REJOIN.match(r["rejoin"])
        assert projected and 1 <= int(projected[1]) <= len(running), (when, r)
        around = set(NEIGHBOUR.findall(r["rejoin"]))
        assert around and around <= names - {r["driver"]}, (when, r)


def check_stints(drawn: dict, race: LiveRace, when: str) -> None:
    replay = race.stints()
    assert set(drawn) == set(replay), when
    for driver, stints in replay.items():
        assert [tuple(s) for s in drawn[driver]] == stints, (when, driver, drawn[driver])


def flag_js(race: LiveRace) -> str:
    """The page holds the flag: the last strategy update, every car's last lap (in the tower
    and in the charts), the three retired cars out."""
    final = json.dumps(race.final_laps())
    return f"""(s => {{
        const last = {final};
        return Boolean(s.strategy && s.strategy.lap >= {LAPS}
          && Object.entries(last).every(([d, lap]) =>
               (s.standings.get(d) || {{}}).lap_number === lap
               && s.race.laps.has(d) && s.race.laps.get(d).has(lap))
          && [...s.standings.values()].filter(r => r.retired).length === {len(RETIRED)});
    }})(window.pitwall)"""


async def at_flag(page: Page) -> tuple[list[dict], dict, dict]:
    await page.wait_for_timeout(1000)  # the last updates and an animation frame
    rows = await page.eval_on_selector_all("#tower tbody tr", ROWS_JS)
    return rows, await page.evaluate(TRACE_AT_JS, LAPS), await page.evaluate(STINTS_JS)


async def test_the_flag_is_the_classification(
    chromium,
    watcher: Page,
    live_race: LiveRace,
    server: str,
) -> None:
    live_race.resume()
    await wait(watcher, live_race, flag_js(live_race), 600, "the flag on the watching page")
    live_race.thread.join(60)
    rows, trace, stints = await at_flag(watcher)
    await shoot(watcher, "live-flag-1600")
    assert not watcher.errors, watcher.errors
    check_classification(rows, trace, live_race.official, "live updates")
    check_out_and_rejoin(rows, "live updates")
    check_stints(stints, live_race, "live updates")

    for width in (390, 1280):  # built from the snapshot and the stored race
        page = await open_on(chromium, server, live_race.key, width)
        await wait(page, live_race, flag_js(live_race), 60, f"the flag at {width} px")
        rows, trace, stints = await at_flag(page)
        await shoot(page, f"live-flag-{width}")
        assert not page.errors, page.errors
        check_classification(rows, trace, live_race.official, f"snapshot at {width} px")
        check_out_and_rejoin(rows, f"snapshot at {width} px")
        check_stints(stints, live_race, f"snapshot at {width} px")
        await page.context.close()


#: The win chart's data as the page holds it: lap -> Verstappen's win chance.
VER_WIN_JS = """() => Object.fromEntries(window.pitwall.history
    .filter(p => p.win && p.win.VER != null).map(p => [p.lap, p.win.VER]))"""


@pytest.mark.xfail(
    reason="not met yet (issue 36): on the live pipeline Verstappen's chance dips under 50% "
    "around his first stop and PER's (laps 10-28, 0.25 at lap 16 in one run); the rolling "
    "evaluation's replay of the same race dips less (0.44 at lap 17)",
    strict=False,
)
async def test_the_leader_keeps_his_win_chance_through_his_stops(
    watcher: Page, live_race: LiveRace
) -> None:
    """Verstappen led 2023 Bahrain after every pit cycle: on the win chart of the page that
    watched the race, his chance stays above 50% on every lap from lap 10 to the flag, his
    two stops included (issue 36). The chart is kept as an artifact."""
    await wait(watcher, live_race, flag_js(live_race), 600, "the flag on the watching page")
    chances = {int(k): v for k, v in (await watcher.evaluate(VER_WIN_JS)).items()}
    laps = [lap for lap in range(10, LAPS) if lap in chances]
    assert len(laps) >= (LAPS - 10) * 0.9, f"the chart misses laps: has {sorted(chances)}"
    chart = watcher.locator("#prob-chart")
    SHOTS_DIR = browser_race.SHOTS
    SHOTS_DIR.mkdir(parents=True, exist_ok=True)
    await chart.screenshot(path=str(SHOTS_DIR / "win-chart-2023-bahrain.png"))
    low = {lap: round(chances[lap], 3) for lap in laps if chances[lap] <= 0.5}
    assert not low, f"Verstappen's win chance at or under 50% on laps {low}"
