"""``make test-latest``: the tests on the newest releases pyproject.toml allows, and what breaks.

Run with the Python of a separate virtual environment where ``pip install --upgrade
--upgrade-strategy eager -e '.[dev]'`` installed the newest releases (not uv.lock's pins). It
prints every package whose release differs from uv.lock, runs pytest with the arguments it
is given (default: the whole suite), then names what broke: each failing test with the first
line of its error (the guards of ``core.compat`` name the library and what changed). The
exit code is pytest's.

    python tests/latest_releases.py [pytest arguments]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import tomllib
import xml.etree.ElementTree as ET
from importlib.metadata import distributions
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def locked() -> dict[str, str]:
    """Package -> release in uv.lock."""
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    return {_norm(p["name"]): p["version"] for p in lock["package"] if "version" in p}


def moved() -> list[tuple[str, str, str]]:
    """(package, locked, installed) of every installed package not at its lock's release."""
    pins = locked()
    out = []
    for dist in distributions():
        name = _norm(dist.metadata["Name"])
        if name in pins and pins[name] != dist.version:
            out.append((name, pins[name], dist.version))
    return sorted(out)


def failures(junit: Path) -> list[tuple[str, str]]:
    """(test, first line of its error) of every failed or erroring test."""
    out = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        for bad in (*case.findall("failure"), *case.findall("error")):
            message = (bad.get("message") or bad.text or "").strip().splitlines()
            out.append((f"{case.get('classname')}::{case.get('name')}", (message or [""])[0]))
    return out


def main(args: list[str]) -> int:
    changes = moved()
    print(f"{len(changes)} packages newer (or other) than uv.lock:")
    for name, was, now in changes:
        print(f"  {name:<28} {was:>12} -> {now}")
    with tempfile.TemporaryDirectory() as tmp:
        junit = Path(tmp) / "junit.xml"
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--timeout=900",
               f"--junitxml={junit}", *(args or ["tests"])]  # fmt: skip
        code = subprocess.call(cmd, cwd=REPO)
        broken = failures(junit) if junit.exists() else []
    print(f"\nWhat breaks on the newest releases: {len(broken) or 'nothing'}")
    for test, message in broken:
        print(f"  {test}\n      {message[:300]}")
    return code


def _norm(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
