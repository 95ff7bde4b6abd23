"""The live connection path without F1: FastF1's client recording what it receives, and
reconnection with back-off when the connection drops (F1's servers replaced by a recorded
feed, the only stand-in the house rules allow)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from signalrcore.messages.completion_message import CompletionMessage

from producers.kafka import EventProducer
from producers.live import LiveParser, read_feed
from producers.live.archive import frame_line
from producers.live.client import FINAL_STATUSES, FeedClient, FeedDropped, run_live
from producers.live.publisher import LivePublisher
from schemas import LapEvent
from tests.kafka_utils import end_offsets, read_since

T0 = datetime(2020, 8, 7, 14, 0, tzinfo=UTC)


def _messages(folder: Path) -> list[tuple[str, Any, str]]:
    """The archive files of a session as the live client receives them: (topic, data, utc)."""
    out = []
    for line in read_feed(folder):
        for m in frame_line(line.text, line.topic):
            utc = T0 + timedelta(seconds=m.session_time or 0.0)
            out.append((m.topic, m.data, utc.isoformat().replace("+00:00", "Z")))
    return out


def test_recording_round_trip(tmp_path: Path, fp2_dir: Path) -> None:
    """What FeedClient records (FastF1's format) plays back into the same events."""
    messages = _messages(fp2_dir)
    messages = messages[: len(messages) // 4]  # the first quarter of the session is enough
    record = tmp_path / "feed.txt"
    live = LiveParser("test-record")
    live_events: list = []

    def on_message(topic: str, data: Any, utc: str | None) -> None:
        for m in frame_line(orjson.dumps([topic, data, utc]).decode()):
            live_events.extend(live.feed(m))

    client = FeedClient(on_message, record=record)
    client._output_file = record.open("w")  # FastF1 opens it when connecting
    # the subscribe response first (a CompletionMessage), then the feed messages
    first = {t: d for t, d, _ in messages[:3]}
    client._on_message(CompletionMessage("1", first, None))
    for topic, data, utc in messages[3:]:
        client._on_message([topic, data, utc])
    client._output_file.close()
    live_events.extend(live.finish())

    replayed = LiveParser("test-record")
    replayed_events = []
    for line in read_feed(record):
        replayed_events.extend(replayed.feed_line(line.text, line.topic))
    replayed_events.extend(replayed.finish())

    def laps(events: list) -> list:
        return sorted(
            (e.driver, e.lap_number, e.lap_time, e.sector1, e.sector2, e.sector3, e.pit_in)
            for e in events
            if isinstance(e, LapEvent)
        )

    assert len(laps(live_events)) > 50
    assert laps(replayed_events) == laps(live_events)
    assert replayed.events == live.events


class RecordedServer:
    """Stands in for F1's servers: each connection streams the next chunk, then drops."""

    def __init__(self, chunks: list[list[tuple[str, Any, str]]]) -> None:
        self.chunks = list(chunks)
        self.connections = 0

    def __call__(self, on_message: Any, **_kw: Any) -> RecordedServer:
        self.on_message = on_message
        return self

    def start(self) -> None:
        self.connections += 1
        if self.connections == 2:
            raise ConnectionError("negotiate failed")  # a failed reconnect is retried too
        for message in self.chunks.pop(0):
            self.on_message(*message)
        raise FeedDropped("connection closed")


def test_reconnects_with_backoff_until_the_session_ends(stack, fp2_dir: Path) -> None:
    messages = _messages(fp2_dir)
    third = len(messages) // 3
    server = RecordedServer([messages[:third], messages[third : 2 * third], messages[2 * third :]])
    key = f"test-live-reconnect-{uuid.uuid4().hex[:8]}"
    offsets = end_offsets("f1.laps.v1")
    parser = LiveParser(key)
    publisher = LivePublisher(EventProducer(stack.require_kafka), parser)
    run_live(
        publisher.handle_message,
        finished=lambda: parser.status in FINAL_STATUSES,
        no_auth=True,
        min_backoff=0.01,
        max_backoff=0.05,
        client_factory=server,
    )
    publisher.finish()
    publisher.producer.close()
    assert server.connections == 4  # three drops (one failed reconnect), the session ended
    assert parser.status == "Ends"
    assert publisher.stats.dead_letters == 0

    def mine(ms: list) -> list:
        return [m for m in ms if m.key().decode().startswith(key + ":")]

    msgs = mine(read_since("f1.laps.v1", offsets, until=lambda ms: len(mine(ms)) >= 535))
    assert len(msgs) == 535


def test_gives_up_after_the_last_attempt(fp2_dir: Path) -> None:
    server = RecordedServer([[], [], [], []])
    with pytest.raises(FeedDropped):
        run_live(
            lambda *a: None,
            finished=lambda: False,
            no_auth=True,
            attempts=3,
            min_backoff=0.01,
            max_backoff=0.02,
            client_factory=server,
        )
    assert server.connections == 3
