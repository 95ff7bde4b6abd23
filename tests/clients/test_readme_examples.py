"""The README's "Consuming pitwall's topics" examples, run as they are written.

Every ```python and ```bash block of that section runs against the embedded broker, with
``KAFKA_BOOTSTRAP`` and ``SESSION`` (a race ``simulate_live`` replayed) in the environment,
as a user would after ``export``-ing them, and must print that session's laps.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core.settings import Settings
from tests.clients.conftest import Replayed

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Consuming pitwall's topics"
BLOCK = re.compile(r"^```(python|bash)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def examples() -> list[tuple[str, str]]:
    text = README.read_text()
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return BLOCK.findall(text[start : end if end > 0 else None])


def test_section_has_the_promised_examples() -> None:
    blocks = examples()
    assert any("confluent_kafka" in code for lang, code in blocks if lang == "python")
    assert any("aiokafka" in code for lang, code in blocks if lang == "python")
    assert any("kcat" in code for lang, code in blocks if lang == "bash")


@pytest.mark.parametrize(
    ("lang", "code"), examples(), ids=lambda x: x if x in ("python", "bash") else ""
)
def test_example_prints_the_session(
    stack: Settings, monaco: Replayed, lang: str, code: str
) -> None:
    if lang == "bash" and "kcat" in code and shutil.which("kcat") is None:
        pytest.skip("kcat is not installed (`make test` installs it as root)")
    env = {
        **os.environ,
        "SESSION": monaco.session_key,
        "KAFKA_BOOTSTRAP": stack.require_kafka,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    command = [sys.executable, "-c", code] if lang == "python" else ["bash", "-eo", "pipefail"]
    run = subprocess.run(
        command,
        input=code if lang == "bash" else None,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    if lang == "python":  # driver, lap, time, compound: every lap of the session
        assert len(lines) == monaco.laps
        assert re.fullmatch(r"VER 12 7\d\.\d+ MEDIUM", next(x for x in lines if "VER 12 " in x))
    else:
        assert "f1.laps.v1" in run.stdout  # kcat -L
        keyed = [x for x in lines if x.startswith(f"{monaco.session_key}:")]
        assert len(keyed) == monaco.laps  # kcat -C ... | grep
        assert re.search(r"^\d:\d\d:\d\d  [A-Z]{3} L\d+ ", run.stdout, re.MULTILINE)  # tail
        assert lines[-1] == str(monaco.laps)  # tail --json | grep -c
