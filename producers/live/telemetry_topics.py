"""The live feed's compressed car telemetry -> telemetry events.

``CarData.z`` (speed, rpm, gear, throttle, brake, DRS) and ``Position.z`` (X/Y/Z) arrive
deflated and base64-encoded, several samples per message, each with its own UTC time. A
payload that does not inflate to the expected shape is a :class:`FeedError` even when
telemetry is switched off, so that a broken feed shows.
"""

from __future__ import annotations

from producers.feed_values import as_float, as_int
from producers.live.archive import RawMessage
from producers.live.decode import FeedError, inflate, parse_utc
from producers.live.parser_state import Handler, ParserState
from schemas import Envelope
from schemas.fastbuild import telemetry_event


def on_car_data(p: ParserState, msg: RawMessage, t: float, out: list[Envelope]) -> None:
    data = inflate(msg.data) if isinstance(msg.data, str) else msg.data
    if not isinstance(data, dict) or not isinstance(data.get("Entries"), list):
        raise FeedError("CarData.z: inflated payload has no Entries list")
    if not p.telemetry:
        return
    key = p.session_key
    for entry in data["Entries"]:
        utc = parse_utc(entry["Utc"])
        when = p.at(p.from_utc(utc), utc)
        for num, car in (entry.get("Cars") or {}).items():
            ch = car.get("Channels") or {}
            brake = ch.get("5")
            out.append(
                telemetry_event(
                    key,
                    when,
                    p.code(num),
                    rpm=as_float(ch.get("0")),
                    speed=as_float(ch.get("2")),
                    gear=as_int(ch.get("3")),
                    throttle=as_float(ch.get("4")),
                    brake=None if brake is None else bool(as_int(brake)),
                    drs=as_int(ch.get("45")),
                )
            )


def on_position(p: ParserState, msg: RawMessage, t: float, out: list[Envelope]) -> None:
    data = inflate(msg.data) if isinstance(msg.data, str) else msg.data
    if not isinstance(data, dict) or not isinstance(data.get("Position"), list):
        raise FeedError("Position.z: inflated payload has no Position list")
    if not p.telemetry:
        return
    key = p.session_key
    for sample in data["Position"]:
        utc = parse_utc(sample["Timestamp"])
        when = p.at(p.from_utc(utc), utc)
        for num, pos in (sample.get("Entries") or {}).items():
            out.append(
                telemetry_event(
                    key,
                    when,
                    p.code(num),
                    x=as_float(pos.get("X")),
                    y=as_float(pos.get("Y")),
                    z=as_float(pos.get("Z")),
                )
            )


#: Feed topic -> its handler.
TELEMETRY_HANDLERS: dict[str, Handler] = {"CarData.z": on_car_data, "Position.z": on_position}
