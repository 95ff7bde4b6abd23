"""The live-timing producer: F1's SignalR feed (or a recording of it) into pitwall events.

``archive`` frames recorded lines, ``decode`` inflates ``.z`` payloads, ``state`` merges
deltas, ``laps`` assembles completed laps as FastF1 does, ``session`` names the session,
``parser`` turns messages into schema events (its state in ``parser_state``, its handlers by
topic in ``session_topics``, ``car_topics`` and ``telemetry_topics``), ``publisher`` sends
them to Kafka (bad input to the DLQ) and times arrival -> ack, ``client`` wraps FastF1's
SignalR client and F1 account sign-in, with reconnection. Playing a recording back is a
replay (``replay.playback``, on the replay's pacing clock).
"""

from producers.live.archive import FeedLine, RawMessage, frame_line, read_feed
from producers.live.decode import FeedError, inflate
from producers.live.parser import LiveParser

__all__ = [
    "FeedError",
    "FeedLine",
    "LiveParser",
    "RawMessage",
    "frame_line",
    "inflate",
    "read_feed",
]
