"""Dependencies that can be upgraded: uv.lock is the one source of the pins (it matches
pyproject.toml, and requirements.txt is generated from it), every package the code imports is
declared, and the runtime image installs no test tool."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
UV = [sys.executable, "-m", "uv"]
PACKAGES = ("core", "schemas", "replay", "producers", "strategy", "training", "prerace",
            "analytics", "streams", "consumers", "api", "pitwall")  # fmt: skip
EXPORT = ["export", "--frozen", "--no-emit-project", "--no-header"]


def uv(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*UV, *args], cwd=REPO, capture_output=True, text=True, timeout=120)


def declared(extra: str | None = None) -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    specs = project["optional-dependencies"][extra] if extra else project["dependencies"]
    return {_norm(re.split(r"[\s\[<>=!~;]", s, maxsplit=1)[0]) for s in specs}


def imported(folders: tuple[str, ...]) -> dict[str, str]:
    """Top-level module -> a file importing it, over every module of ``folders``."""
    out: dict[str, str] = {}
    for folder in folders:
        for path in sorted((REPO / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for name in names:
                    out.setdefault(name.split(".")[0], str(path.relative_to(REPO)))
    return out


def undeclared(folders: tuple[str, ...], allowed: set[str]) -> list[str]:
    ours = {*PACKAGES, "tests", "benchmarks", "__future__"}
    for folder in folders:  # scripts importing their neighbours (benchmarks/harness.py, ...)
        ours |= {p.stem for p in (REPO / folder).rglob("*.py")}
        ours |= {p.name for p in (REPO / folder).rglob("*") if p.is_dir()}
    dists = packages_distributions()
    missing = []
    for module, where in imported(folders).items():
        if module in ours or module in sys.stdlib_module_names:
            continue
        names = {_norm(d) for d in dists.get(module, [module])}
        if not names & allowed:
            missing.append(f"{module} ({where}; distribution {', '.join(sorted(names))})")
    return missing


def test_the_lock_matches_pyproject() -> None:
    run = uv("lock", "--check", "--offline")
    assert run.returncode == 0, run.stdout + run.stderr


def test_requirements_txt_is_generated_from_the_lock() -> None:
    run = uv(*EXPORT, "--extra", "dev", "--no-hashes")
    assert run.returncode == 0, run.stderr
    body = [ln for ln in (REPO / "requirements.txt").read_text().splitlines()]
    header = [ln for ln in body[:2] if ln.startswith("#")]
    assert "uv export --frozen --extra dev" in " ".join(header), "make lock writes it"
    assert body[len(header) :] == run.stdout.splitlines(), "requirements.txt is stale: make lock"


def test_every_import_of_the_code_is_declared() -> None:
    assert not undeclared(PACKAGES, declared()), "declare them in pyproject.toml"


def test_every_import_of_the_tests_and_benchmarks_is_declared() -> None:
    assert not undeclared(("tests", "benchmarks"), declared() | declared("dev"))


@pytest.mark.parametrize("tool", ["pytest", "ruff", "schemathesis", "hypothesis", "playwright"])
def test_the_runtime_image_has_no_test_tools(tool: str) -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "uv export --frozen --no-emit-project" in dockerfile
    assert "--extra" not in dockerfile and "requirements.txt" not in dockerfile
    runtime = uv(*EXPORT)
    assert runtime.returncode == 0, runtime.stderr
    pins = {_norm(ln.split("==")[0]) for ln in runtime.stdout.splitlines() if "==" in ln}
    assert "fastapi" in pins and _norm(tool) not in pins


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
