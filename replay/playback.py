"""Playing a recorded live feed through the live publisher, paced like the original session.

Playing back a recording is a replay of the raw feed: each line is due at its feed time (the
archive clock, or the message's UTC timestamp) on the replay's :class:`PacingClock` (speed,
pause/resume); ``speed=None`` plays as fast as the parser and broker go. Lines are handed to
the publisher exactly as the live client hands over received messages, so a recording tests
the live path without F1.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from producers.live.archive import FeedLine, line_time
from producers.live.publisher import LivePublisher, LiveStats
from producers.live.streaming import LiveOutput, LiveRun
from replay.clock import PacingClock
from replay.progress import progress_bar


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
    clock: PacingClock | None = None,
) -> PlaybackSummary:
    """Hand every line to ``publisher`` at its due time; flush and summarise at the end.

    The schedule starts at the first line with a feed time; ``clock`` (e.g. one with pause
    controls) is set to ``speed``.
    """
    clock = clock or PacingClock(0.0, speed)
    clock.speed = speed
    summary = PlaybackSummary(publisher.stats)
    last_t: float | None = None
    start = time.monotonic()
    bar = progress_bar(
        "{task.completed:,.0f}/{task.total:,.0f} lines",
        "{task.fields[events]:,} events, {task.fields[dlq]} to DLQ",
        enabled=progress,
    )
    try:
        with bar:
            task = bar.add_task(title, total=total, events=0, dlq=0)
            for n, line in enumerate(lines):
                t = line_time(line.text) if speed is not None else None
                if t is not None:
                    if last_t is None:
                        clock.seek(t)  # the schedule starts now, at the first timed line
                    # clocks of merged archive files never go back; late lines are not waited
                    last_t = t if last_t is None else max(last_t, t)
                    lag = clock.lag(last_t)
                    if lag > 0:
                        summary.max_lag = max(summary.max_lag, lag)
                    else:
                        clock.wait_until(last_t, sleep=publisher.wait)  # serves acks meanwhile
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


def play_recording(
    lines: list[FeedLine], output: LiveOutput, *, speed: float | None, title: str
) -> LiveRun:
    """Play a whole recording into ``output`` with a progress bar (``pitwall live
    --from-file``), then release the producer and say what the run published."""
    summary = play(
        lines, output.publisher, speed=speed, progress=True, total=len(lines), title=title
    )
    return output.close(summary.seconds, interrupted=summary.interrupted)
