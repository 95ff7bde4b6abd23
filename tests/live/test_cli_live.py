"""``pitwall live`` end to end: a recording through the command into the embedded broker,
read back with a plain consumer; and the clear refusal when F1 credentials are missing."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pitwall.cli import app
from schemas import LapEvent, decode
from tests.kafka_utils import end_offsets, read_since


def test_live_from_file_publishes_laps(stack, fp2_dir: Path, fp2_parsed) -> None:
    key = f"test-live-cli-{uuid.uuid4().hex[:8]}"
    topics = ("f1.laps.v1", "f1.stints.v1", "f1.session.v1", "f1.dlq.v1")
    offsets = {t: end_offsets(t) for t in topics}
    result = CliRunner().invoke(
        app, ["live", "--from-file", str(fp2_dir), "--speed", "max", "--session-key", key]
    )
    assert result.exit_code == 0, result.output
    assert "f1.laps.v1" in result.output and "535" in result.output

    def mine(ms: list) -> list:
        return [m for m in ms if m.key() and m.key().decode().split(":")[0] == key]

    laps = mine(
        read_since("f1.laps.v1", offsets["f1.laps.v1"], until=lambda ms: len(mine(ms)) >= 535)
    )
    events = [decode("f1.laps.v1", m.value()) for m in laps]
    assert len(events) == 535
    assert all(isinstance(e, LapEvent) and e.session_key == key for e in events)
    # the command and the parser in-process make the same laps
    _parser, parsed = fp2_parsed
    expected = sorted(
        (e.driver, e.lap_number, e.lap_time, e.sector1, e.pit_in, e.pit_out, e.compound)
        for e in parsed
        if isinstance(e, LapEvent)
    )
    got = sorted(
        (e.driver, e.lap_number, e.lap_time, e.sector1, e.pit_in, e.pit_out, e.compound)
        for e in events
    )
    assert got == expected
    # per-driver keys keep a driver's laps in order
    by_driver: dict[str, list[int]] = {}
    for e in events:
        by_driver.setdefault(e.driver, []).append(e.lap_number)
    assert all(v == sorted(v) for v in by_driver.values())
    info = [
        decode("f1.session.v1", m.value())
        for m in mine(read_since("f1.session.v1", offsets["f1.session.v1"], idle_timeout=1.0))
    ]
    assert any(e.kind == "info" and e.drivers for e in info)
    dlq = mine(read_since("f1.dlq.v1", offsets["f1.dlq.v1"], idle_timeout=1.0))
    assert dlq == []


def test_live_without_credentials_says_so(stack, tmp_path: Path, monkeypatch) -> None:
    from fastf1.internals.f1account import token_manager

    monkeypatch.delenv("F1_USERNAME", raising=False)
    monkeypatch.delenv("F1_PASSWORD", raising=False)
    monkeypatch.delenv("FASTF1_AUTH_METHOD", raising=False)
    monkeypatch.setattr(token_manager, "_token_path", tmp_path / "no-token.json")
    monkeypatch.setattr(token_manager, "_token", None)
    result = CliRunner().invoke(app, ["live"])
    assert result.exit_code == 2
    out = " ".join(result.output.split())
    assert "F1_USERNAME" in out and "F1_PASSWORD" in out and "--from-file" in out


@pytest.mark.parametrize("speed", ["fast", "-1"])
def test_live_rejects_bad_speed(speed: str, fp2_dir: Path) -> None:
    result = CliRunner().invoke(app, ["live", "--from-file", str(fp2_dir), "--speed", speed])
    assert result.exit_code == 2
    assert "speed" in result.output.lower()
