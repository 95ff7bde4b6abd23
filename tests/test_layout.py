"""The layout's size rules, kept true by a test: no module over 450 lines and no function over
80, in every package of pitwall and in the benchmarks (tests are left out)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = (
    "core", "schemas", "replay", "producers", "strategy", "training", "prerace", "analytics",
    "streams", "consumers", "api", "pitwall", "benchmarks",
)  # fmt: skip
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 80


def _sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py"))


def _long_functions(tree: ast.AST) -> list[str]:
    return [
        f"{node.name} (line {node.lineno}, {node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(REPO)))
def test_modules_and_functions_stay_small(path: Path) -> None:
    text = path.read_text()
    lines = len(text.splitlines())
    assert lines <= MAX_MODULE_LINES, f"{lines} lines: split it by what its parts hold"
    long = _long_functions(ast.parse(text))
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {', '.join(long)}"
