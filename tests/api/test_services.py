"""The API's layers as the layout wants them: services and analytics free of HTTP, domain
errors mapped to status codes in one table, the per-app memory on ``Resources``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from analytics.errors import NotInSession
from api.errors import status_of
from api.resources import Recent, Resources
from api.services.errors import Invalid, NotFound, Unavailable
from core.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("api/services", ("fastapi", "starlette")),
        ("analytics", ("api", "replay", "fastapi", "starlette", "psycopg", "redis")),
    ],
)
def test_services_and_analytics_know_no_http(package: str, forbidden: tuple[str, ...]) -> None:
    for path in sorted((REPO / package).rglob("*.py")):
        bad = {n for n in _imports(path) if n.split(".")[0] in forbidden}
        assert not bad, f"{path.relative_to(REPO)} imports {', '.join(sorted(bad))}"


def test_domain_errors_have_one_status_each() -> None:
    assert status_of(NotFound("x")) == 404
    assert status_of(NotInSession("x")) == 404
    assert status_of(Invalid("x")) == 422
    assert status_of(Unavailable("x")) == 503

    class Special(NotFound):
        pass

    assert status_of(Special("x")) == 404


def test_recent_keeps_the_last_used() -> None:
    recent: Recent[str, int] = Recent(2)
    recent.put("a", 1)
    recent.put("b", 2)
    assert recent.get("a") == 1  # now the most recent
    recent.put("c", 3)
    assert recent.get("b") is None and recent.get("a") == 1 and len(recent) == 2


def test_each_app_has_its_own_memory(tmp_path: Path) -> None:
    one, two = Resources(Settings(state_dir=tmp_path)), Resources(Settings(state_dir=tmp_path))
    one.sessions.put(("2023-monaco-R", tmp_path), object())  # type: ignore[arg-type]
    assert len(one.sessions) == 1 and len(two.sessions) == 0
    one.forget_sessions()
    assert len(one.sessions) == 0
    assert one.battle_models is not two.battle_models and one.track_maps is not two.track_maps
