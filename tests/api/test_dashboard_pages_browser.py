"""Every page besides the live one after a demo-like run, in headless Chromium: a race landed
through the pipeline (``landed``: 2023 Monaco) and the local Ergast history loaded by the
demo's own background ingest (``pitwall.commands.demo.HistoryIngest``; seasons 2023-2024 and
the 2025 calendar here, to keep the run short). Each page is shot at 1280 and 390 px into
``artifacts/screenshots/`` and must run without a script error.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.settings import Settings
from tests.api import browser_race
from tests.api.browser_race import new_page, shoot

pytestmark = pytest.mark.asyncio(loop_scope="session")
chromium = browser_race.chromium  # the shared fixtures

PAGES = ("compare", "telemetry", "battles", "track", "next-race", "calendar", "accuracy",
         "rankings", "standings")  # fmt: skip


@pytest.fixture(scope="module")
def history(stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The demo's background ingest of the Ergast history, run to its end."""
    from pitwall.commands.demo import HistoryIngest
    from pitwall.processes import ProcessRegistry
    from tests.ergast_data import ergast_source, write_subset

    work = tmp_path_factory.mktemp("demo-history")
    src = write_subset(
        ergast_source(stack), work / "ergast", seasons=range(2023, 2025), calendar=range(2025, 2026)
    )
    ingest = HistoryIngest(ProcessRegistry(work), stack, source=src)
    ingest.start(dict(os.environ))
    try:
        code = ingest.wait(600)
    finally:
        ingest.stop()
    assert code == 0, ingest.log.read_text()[-3000:]


async def test_every_page_after_a_demo_like_run(
    chromium, server: str, landed: str, history: None
) -> None:
    shots: list[Path] = []
    errors: dict[str, list[str]] = {}
    for width in (1280, 390):
        page = await new_page(chromium, width)
        for name in PAGES:
            await page.goto(f"{server}/{name}?session={landed}")
            await page.wait_for_load_state("networkidle")
            await page.wait_for_timeout(800)  # charts drawn after their data
            shots.append(await shoot(page, f"page-{name}-{width}"))
            if page.errors:
                errors[f"{name} at {width}"] = list(page.errors)
                page.errors.clear()
        await page.context.close()
    assert all(p.stat().st_size > 10_000 for p in shots)
    assert not errors, errors
