"""The incremental live-timing parser: feed messages in, pitwall schema events out.

For every message the parser merges the delta into the session state (``state``, one
merged dict per topic, as F1's own client keeps it) and emits the events that message
makes true, the same events ``simulate_live`` publishes for a replayed session:

* ``SessionInfo`` / ``DriverList`` -> SessionEvent(info); ``SessionStatus`` -> status;
  ``LapCount`` -> lap_count
* ``TimingData`` -> TimingEvent (position, gap, interval) and, per completed lap, a LapEvent
  with the lap's compound, tyre age, stint, position and track status (see ``laps.py``);
  its ``Retired``/``KnockedOut``, ``Stopped`` and ``InPit`` flags -> SessionEvent(car_status)
  when a car's status changes
* ``TimingAppData`` / ``TyreStintSeries`` -> StintEvent for a new stint or a correction
* ``TrackStatus`` -> TrackStatusEvent, ``RaceControlMessages`` -> RaceControlEvent,
  ``WeatherData`` -> WeatherEvent, ``CarData.z`` / ``Position.z`` -> TelemetryEvent

The handlers live by topic family (``session_topics``, ``car_topics``, ``telemetry_topics``)
over the state of ``parser_state``; a topic without a handler is merged into the state only.
Session time is the archive clock where the feed has one, otherwise seconds since the first
UTC timestamp seen. A message that cannot be parsed raises :class:`FeedError`; the parser
stays usable: the next message is parsed as usual.
"""

from __future__ import annotations

from producers.live.archive import RawMessage, frame_line
from producers.live.car_topics import CAR_HANDLERS, lap_event
from producers.live.decode import FeedError
from producers.live.parser_state import Handler, ParserState, to_us
from producers.live.session_topics import SESSION_HANDLERS
from producers.live.telemetry_topics import TELEMETRY_HANDLERS
from schemas import Envelope

#: Feed topic -> the handler that turns its messages into events.
HANDLERS: dict[str, Handler] = {**SESSION_HANDLERS, **CAR_HANDLERS, **TELEMETRY_HANDLERS}


class LiveParser(ParserState):
    """Incremental parser of one session's live-timing feed."""

    def feed_line(self, line: str | bytes, topic: str | None = None) -> list[Envelope]:
        """Parse one recorded or received line (any format of ``archive.py``)."""
        text = line.decode("utf-8-sig") if isinstance(line, bytes) else line
        out: list[Envelope] = []
        for msg in frame_line(text, topic):
            out.extend(self.feed(msg))
        return out

    def feed(self, msg: RawMessage) -> list[Envelope]:
        """Merge one message into the state and return the events it produces."""
        t = self.session_time(msg)
        handler = HANDLERS.get(msg.topic)
        self.messages[msg.topic] += 1
        out: list[Envelope] = []
        try:
            if handler is not None:
                handler(self, msg, t, out)
            else:
                self.merge(msg.topic, msg.data)
        except FeedError:
            raise
        except Exception as exc:  # any fault of one message goes to the DLQ
            raise FeedError(f"{msg.topic}: {type(exc).__name__}: {exc}") from exc
        if t > self.now:
            self.now = t
            out.extend(self._release_laps())
        for e in out:
            self.events[e.type] += 1
        return out

    def finish(self) -> list[Envelope]:
        """The feed ended: release the laps still waiting for late values."""
        out: list[Envelope] = []
        for car in self.cars.values():
            for lap in car.laps.finish():
                out.append(lap_event(self, car, lap))
        for e in out:
            self.events[e.type] += 1
        return out

    def _release_laps(self) -> list[Envelope]:
        """The laps whose wait for late values is over at the feed's new time."""
        now = to_us(self.now)
        out: list[Envelope] = []
        for car in self.cars.values():
            if car.laps.next_emit < car.laps.count:
                out.extend(lap_event(self, car, lap) for lap in car.laps.release(now))
        return out
