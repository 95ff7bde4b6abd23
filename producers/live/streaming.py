"""A run of the live producer, as ``pitwall live`` runs it: the publisher on the broker, F1's
live timing streamed into it until the session ends (or Ctrl-C), and what the run published.

A recording goes through the same :class:`LiveOutput` but is played on the replay's clock
(``replay.playback.play_recording``). Both end in a :class:`LiveRun`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from producers.live.parser import LiveParser
from producers.live.publisher import LivePublisher, LiveStats, TimedEventProducer


@dataclass
class LiveRun:
    """What one run of the live producer published, and how it ended."""

    stats: LiveStats
    session_key: str
    seconds: float
    #: arrival at the parser -> broker ack, per message (seconds)
    latencies: list[float] = field(default_factory=list)
    interrupted: bool = False
    #: what stopped the feed, when it did not end by itself (or by Ctrl-C)
    error: Exception | None = None


@dataclass
class LiveOutput:
    """The live producer's way into Kafka: the parser and the publisher, over a producer
    that times each message from its arrival to the broker's acknowledgement."""

    producer: TimedEventProducer
    parser: LiveParser
    publisher: LivePublisher

    @classmethod
    def connect(
        cls,
        bootstrap: str,
        partitions: int,
        *,
        session_key: str | None = None,
        telemetry: bool = True,
        create_topics: bool = True,
    ) -> LiveOutput:
        """Create pitwall's topics (``partitions`` per race topic) unless told not to, and a
        producer that has already connected; any error reaching the broker is raised."""
        if create_topics:
            from producers.admin import create_topics as create

            create(bootstrap, partitions)
        producer = TimedEventProducer(bootstrap)
        producer.warm_up()
        parser = LiveParser(session_key, telemetry=telemetry)
        return cls(producer, parser, LivePublisher(producer, parser))

    def close(
        self, seconds: float, *, interrupted: bool = False, error: Exception | None = None
    ) -> LiveRun:
        """Release the producer and say what the run published."""
        self.producer.close()
        return LiveRun(
            self.publisher.stats,
            self.parser.session_key,
            seconds,
            self.producer.message_latency,
            interrupted,
            error,
        )


def stream_live(
    output: LiveOutput,
    *,
    record: Path | None = None,
    no_auth: bool = False,
    credentials_set: bool = False,
    timeout: int = 60,
) -> LiveRun:
    """Stream F1's live timing into ``output`` until the session ends, reconnecting with
    back-off when the feed drops; Ctrl-C stops it. Delivery acks are served from a thread
    meanwhile; the laps still held are published and acked (30 s at most) at the end.

    ``record``: also append the raw feed to this file. A feed that cannot go on (missing
    credentials, reconnections used up) ends the run with its ``error``."""
    from producers.live.client import FINAL_STATUSES, run_live  # FastF1's SignalR client

    started = time.monotonic()
    output.publisher.start_polling()
    interrupted, error = False, None
    try:
        run_live(
            output.publisher.handle_message,
            finished=lambda: output.parser.status in FINAL_STATUSES,
            record=record,
            no_auth=no_auth,
            credentials_set=credentials_set,
            timeout=timeout,
        )
    except KeyboardInterrupt:
        interrupted = True
    except Exception as exc:
        error = exc
    output.publisher.finish(30)
    return output.close(time.monotonic() - started, interrupted=interrupted, error=error)
