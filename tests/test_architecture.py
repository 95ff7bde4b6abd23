"""Rules of the layout that import-linter cannot see: who reads settings and the environment.

Only entry points read the settings (``pitwall/commands``, ``pitwall/cli.py``, among them
``simulate_live``, and ``api.main.create_app`` for ``uvicorn --factory``); everything below
takes them as a parameter. No module reads the environment itself: every variable is a
documented ``Settings`` field with a row in the README's configuration table.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.settings import Settings

REPO = Path(__file__).resolve().parents[1]
LIBRARY = ("schemas", "strategy", "streams", "consumers", "api", "producers", "replay")
ENTRY_POINTS = {"api/main.py"}


def _sources() -> list[Path]:
    return sorted(p for pkg in LIBRARY for p in (REPO / pkg).rglob("*.py"))


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(REPO)))
def test_library_code_neither_reads_settings_nor_the_environment(path: Path) -> None:
    text = path.read_text()
    rel = str(path.relative_to(REPO))
    if rel not in ENTRY_POINTS:
        assert "get_settings(" not in text, f"{rel}: take Settings as a parameter instead"
    assert not re.search(r"os\.environ|os\.getenv", text), (
        f"{rel} reads the environment: make it a Settings field and pass it down"
    )


def _env_names(field: str) -> list[str]:
    info = Settings.model_fields[field]
    alias = info.validation_alias
    if alias is None:
        return [field.upper()]
    return [str(c) for c in getattr(alias, "choices", [alias])]


def test_every_setting_is_documented() -> None:
    readme = (REPO / "README.md").read_text()
    table = readme[readme.index("## Configuration") :]
    table = table[: table.index("\n## ", 5)]
    for field, info in Settings.model_fields.items():
        assert info.description, f"Settings.{field} has no description"
        names = _env_names(field)
        assert any(f"`{n}`" in table for n in names), (
            f"Settings.{field} ({names[0]}) is missing from the README's configuration table"
        )


def test_readme_topic_table_is_the_code_s() -> None:
    from pitwall.commands.topics import flows_markdown

    assert flows_markdown() in (REPO / "README.md").read_text(), (
        "README's topic table is out of date: paste `pitwall topics graph --markdown`"
    )


def test_default_directories_are_the_checkout_s(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("PITWALL_MODEL_DIR", "MODEL_DIR", "PITWALL_STATE_DIR"):
        monkeypatch.delenv(var, raising=False)
    settings = Settings()
    assert settings.model_dir == REPO / "models"
    assert settings.state_dir == REPO / ".pitwall"


def test_readme_architecture_table_lists_exactly_the_top_level_folders() -> None:
    """The README's architecture table names every top-level folder once, and no other."""
    import subprocess

    readme = (REPO / "README.md").read_text()
    table = readme[readme.index("## Architecture") :]
    table = table[: table.index("\n\n", table.index("| folder |"))]
    listed = re.findall(r"^\| `([^`/]+)/` \|", table, re.MULTILINE)
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    folders = {p.split("/")[0] for p in tracked if "/" in p and not p.startswith(".")}
    assert sorted(listed) == sorted(folders), "README's architecture table != the folders"
