"""The live parser under a damaged feed (hypothesis): lines of a real recording (FastF1's 2020
FP2 reference session, the first 2,500 archive lines: session, drivers, stints, weather and
about 60 completed laps) truncated, garbled, given values of the wrong type, duplicated,
swapped with the next or dropped, then played through the live publisher.

Whatever the damage: the publisher never raises; every event it publishes is a valid event of
its topic for the session; no lap is published twice; a lap time it publishes is the one the
undamaged feed gives that lap (a damaged feed may leave a value out, never make one up); at
most one dead letter per damaged line (bad input goes to the DLQ, and the next line is parsed
as usual). A feed whose only damage is duplicated lines publishes exactly what the feed does.
The broker's part is the recording producer's: every event is encoded as it would be sent.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from producers.kafka import Broker, EventProducer
from producers.live import LiveParser
from producers.live.archive import FeedLine, read_feed
from producers.live.publisher import LivePublisher
from schemas import DecodeError, decode

SESSION = "fuzz-2020-fp2"
LINES = 2500
DAMAGE = ("truncate", "garble", "retype", "duplicate", "swap", "drop")
#: Damage that changes a line's text (the others move whole lines).
CORRUPTING = {"truncate", "garble", "retype"}


class RecordingProducer(EventProducer):
    """The real producer's encoding and partitioning, with every event kept instead of sent."""

    def __init__(self) -> None:
        super().__init__("127.0.0.1:9", log_level=0)  # never connected
        self.out: list[tuple[str, str | None, bytes]] = []

    def _partition_count(self, topic: str, timeout: float = 10.0) -> int:
        return 1

    def _send(self, topic: str, key: str | None, value: bytes, partition: int = -1) -> None:
        self.out.append((topic, key, value))

    def broker_state(self, *args: object, **kwargs: object) -> Broker:
        return Broker.SAME

    def poll(self, timeout: float = 0.0) -> int:
        return 0

    def flush(self, timeout: float = 30.0) -> None:
        return None


@dataclass
class Played:
    events: list[tuple[str, object, bytes]] = field(default_factory=list)
    dead_letters: int = 0

    def of(self, topic: str) -> list:
        return [e for t, e, _ in self.events if t == topic]


def play(lines: list[FeedLine]) -> Played:
    producer = RecordingProducer()
    publisher = LivePublisher(producer, LiveParser(SESSION))
    for line in lines:
        publisher.handle_line(line.text, line.topic)
    publisher.finish()
    played = Played(dead_letters=publisher.stats.dead_letters)
    for topic, _, value in producer.out:
        if topic != "f1.dlq.v1":
            played.events.append((topic, decode(topic, value), value))  # raises if invalid
    return played


@pytest.fixture(scope="module")
def feed(fp2_dir: Path) -> list[FeedLine]:
    return list(read_feed(fp2_dir))[:LINES]


@pytest.fixture(scope="module")
def clean(feed: list[FeedLine]) -> Played:
    played = play(feed)
    assert played.dead_letters == 0 and len(played.of("f1.laps.v1")) > 50
    return played


def _content(value: bytes) -> bytes:
    """An event's content, without the time it was produced."""
    event = orjson.loads(value)
    event.pop("produced_at", None)
    return orjson.dumps(event, option=orjson.OPT_SORT_KEYS)


def damage(lines: list[FeedLine], plan: list[tuple[int, str, int]]) -> tuple[list, int]:
    """The feed with ``plan``'s damage (line index, kind, a number to draw from); the
    number of its lines whose text was damaged."""
    out = list(lines)
    corrupted: set[int] = set()  # ids of the damaged lines (a copy of one counts too)
    for index, kind, n in plan:
        i = index % len(out)
        line = out[i]
        if kind == "duplicate":
            out.insert(i + 1, line)
        elif kind == "swap" and i + 1 < len(out):
            out[i], out[i + 1] = out[i + 1], out[i]
        elif kind == "drop" and len(out) > 1:
            del out[i]
        elif kind in CORRUPTING:
            out[i] = FeedLine(corrupt(line.text, kind, n), line.topic)
            corrupted.add(id(out[i]))
    return out, sum(id(line) in corrupted for line in out)


def corrupt(text: str, kind: str, n: int) -> str:
    if kind == "truncate":
        return text[: n % max(len(text), 1)]
    if kind == "garble":
        at = n % (len(text) + 1)
        return text[:at] + ["{", "]", '"', "\x00", "\ufeff", ",", "é", "9e999"][n % 8] + text[at:]
    values = ['"x"', "null", "true", "[]", "{}", "-1", "1e308", '"99:99.999"']
    value = r'(":\s*)("[^"]*"|-?\d+(\.\d+)?|true|false)'
    return re.sub(value, rf"\g<1>{values[n % 8]}", text, count=1)


#: Examples per run (60 in the suite; PITWALL_FUZZ_EXAMPLES=5000 for a deep run).
EXAMPLES = int(os.environ.get("PITWALL_FUZZ_EXAMPLES", "60"))
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
plans = st.lists(
    st.tuples(st.integers(0, LINES), st.sampled_from(DAMAGE), st.integers(0, 10**6)),
    min_size=1,
    max_size=30,
)


@settings(FUZZ, max_examples=EXAMPLES)
@given(plan=plans)
def test_a_damaged_feed_never_crashes_nor_publishes_a_wrong_event(
    feed: list[FeedLine], clean: Played, plan: list[tuple[int, str, int]]
) -> None:
    note(f"damage: {plan}")
    lines, corrupted = damage(feed, plan)
    played = play(lines)  # never raises; every event decodes as its topic's model
    assert played.dead_letters <= corrupted
    assert all(e.session_key == SESSION for _, e, _ in played.events)
    laps = played.of("f1.laps.v1")
    keys = Counter((lap.driver, lap.lap_number) for lap in laps)
    assert not [k for k, n in keys.items() if n > 1], "a lap published twice"
    truth = {(lap.driver, lap.lap_number): lap.lap_time for lap in clean.of("f1.laps.v1")}
    for lap in laps:
        assert lap.lap_number >= 1
        known = truth.get((lap.driver, lap.lap_number))
        if lap.lap_time is not None and known is not None:
            assert lap.lap_time == pytest.approx(known), (lap.driver, lap.lap_number)


@settings(FUZZ, max_examples=max(EXAMPLES // 3, 10))
@given(indices=st.lists(st.integers(0, LINES), min_size=1, max_size=40))
def test_duplicated_lines_publish_what_the_feed_does(
    feed: list[FeedLine], clean: Played, indices: list[int]
) -> None:
    lines, _ = damage(feed, [(i, "duplicate", 0) for i in indices])
    played = play(lines)
    assert played.dead_letters == 0
    assert {_content(v) for _, _, v in played.events} == {_content(v) for _, _, v in clean.events}


def test_every_kind_of_damage_reaches_the_dead_letters_or_is_skipped(
    feed: list[FeedLine],
) -> None:
    """The DLQ path itself, line by line: a truncated JSON line is a dead letter."""
    timing = next(i for i, line in enumerate(feed) if line.topic == "TimingData" and i > 100)
    lines = list(feed)
    lines[timing] = FeedLine(lines[timing].text[: len(lines[timing].text) // 2], "TimingData")
    assert play(lines).dead_letters == 1
    with pytest.raises(DecodeError):
        decode("f1.laps.v1", b"{not json")
