"""Playing a recorded feed through the live publisher, paced like the original session.

Each line is due at its own feed time (the archive clock, or the message's UTC timestamp)
divided by the speed; ``speed=None`` plays as fast as the parser and broker go. Lines are
handed to the publisher exactly as the live client hands over received messages, so a
recording tests the live path without F1.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from producers.live.archive import FeedLine
from producers.live.publisher import LivePublisher, LiveStats

_CLOCK = re.compile(r"^\ufeff?(\d{2}):(\d{2}):(\d{2})\.(\d{1,6})")
_LAST_UTC = re.compile(
    r"""["'](\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?Z?["']\s*\]\s*[\]}\s]*$"""
)


def line_time(text: str) -> float | None:
    """A line's feed time in seconds (archive clock, or epoch seconds of its message UTC)."""
    m = _CLOCK.match(text)
    if m is not None:
        h, mi, s, frac = m.groups()
        return int(h) * 3600 + int(mi) * 60 + int(s) + int(frac.ljust(6, "0")) / 1e6
    m = _LAST_UTC.search(text[-80:])
    if m is None:
        return None
    y, mo, d, h, mi, s, frac = m.groups()
    try:
        when = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), tzinfo=UTC)
    except ValueError:
        return None
    return when.timestamp() + int((frac or "0")[:6].ljust(6, "0")) / 1e6


@dataclass
class PlaybackSummary:
    """A finished playback: what was published and how long it took."""

    stats: LiveStats
    seconds: float = 0.0
    max_lag: float = 0.0
    interrupted: bool = False
    dead_letter_lines: list[int] = field(default_factory=list)

    @property
    def lines_per_second(self) -> float:
        return self.stats.lines / self.seconds if self.seconds else 0.0


def play(
    lines: Iterable[FeedLine],
    publisher: LivePublisher,
    *,
    speed: float | None = None,
    progress: bool = False,
    total: int | None = None,
    title: str = "live feed",
) -> PlaybackSummary:
    """Hand every line to ``publisher`` at its due time; flush and summarise at the end."""
    if speed is not None and speed <= 0:
        raise ValueError("speed must be positive, or None for maximum speed")
    summary = PlaybackSummary(publisher.stats)
    origin: float | None = None
    last_t: float | None = None
    start = time.monotonic()
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f} lines"),
        TextColumn("{task.fields[events]:,} events, {task.fields[dlq]} to DLQ"),
        TimeElapsedColumn(),
        disable=not progress,
    )
    try:
        with bar:
            task = bar.add_task(title, total=total, events=0, dlq=0)
            for n, line in enumerate(lines):
                t = line_time(line.text) if speed is not None else None
                if t is not None:
                    # clocks of merged archive files never go back; late lines are not waited
                    last_t = t if last_t is None else max(last_t, t)
                    if origin is None:
                        origin = last_t
                    due = start + (last_t - origin) / speed  # type: ignore[operator]
                    wait = due - time.monotonic()
                    if wait > 0:
                        publisher.wait(wait)  # serves delivery acks meanwhile
                    else:
                        summary.max_lag = max(summary.max_lag, -wait)
                before = publisher.stats.dead_letters
                publisher.handle_line(line.text, line.topic)
                if publisher.stats.dead_letters > before:
                    summary.dead_letter_lines.append(n)
                if progress and (n % 100 == 0 or speed is not None):
                    bar.update(
                        task,
                        completed=n + 1,
                        events=publisher.stats.events,
                        dlq=publisher.stats.dead_letters,
                    )
            publisher.finish()
            bar.update(task, completed=publisher.stats.lines, events=publisher.stats.events)
    except KeyboardInterrupt:
        summary.interrupted = True
        publisher.finish(30)
    summary.seconds = time.monotonic() - start
    return summary
