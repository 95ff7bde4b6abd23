"""Why Debian 12's kcat (librdkafka 2.0.2) cannot talk to the embedded broker, on the wire.

An ApiVersions v3 request, as librdkafka sends it first, and the broker's answer parsed by
the Kafka protocol's rules (KIP-482 tagged fields): the answer is valid to its last byte, and
it carries all four tagged fields at their default values, which Apache Kafka leaves out.
librdkafka before 2.1.2 skips ``length - 1`` bytes of each tagged field (librdkafka #4253,
fixed by #4278), so it falls out of step and reads the eight 0xff bytes of
FinalizedFeaturesEpoch (-1) as a varint length: kcat's "Protocol read buffer underflow for
ApiVersion v3 at 274/279 ... expected 216172782113783806 bytes > 5 remaining bytes". The
README ("Consuming pitwall's topics") and ``pitwall/commands/kcat.py`` rely on this; if a
newer broker leaves the defaults out, this test says so and plain kcat may work again.
"""

from __future__ import annotations

import socket
import struct

from core.settings import Settings

API_VERSIONS = 18


def uvarint(data: bytes, pos: int) -> tuple[int, int]:
    """An unsigned varint at ``pos``: (value, position after it)."""
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def api_versions_v3(bootstrap: str) -> bytes:
    """The broker's ApiVersions v3 response body (after the correlation id)."""
    host, port = bootstrap.split(",")[0].rsplit(":", 1)
    client_id = b"pitwall-test"
    header = struct.pack(">hhih", API_VERSIONS, 3, 1, len(client_id)) + client_id + b"\x00"
    # ClientSoftwareName and ClientSoftwareVersion (compact strings), no tagged fields.
    body = b"\x0blibrdkafka" + b"\x062.0.2" + b"\x00"
    request = header + body
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(struct.pack(">i", len(request)) + request)
        size = struct.unpack(">i", s.recv(4))[0]
        response = b""
        while len(response) < size:
            response += s.recv(size - len(response))
    correlation_id = struct.unpack(">i", response[:4])[0]
    assert correlation_id == 1
    return response[4:]


def parse(body: bytes, skip_tag: int = 0) -> tuple[dict[int, bytes], int]:
    """ApiVersions v3 by the protocol's rules: its top-level tagged fields and where the
    parse ended. ``skip_tag=-1`` skips each tagged field the way librdkafka < 2.1.2 does."""
    error_code = struct.unpack_from(">h", body, 0)[0]
    assert error_code == 0
    count, pos = uvarint(body, 2)
    for _ in range(count - 1):  # compact array: length + 1
        pos += 6  # ApiKey, MinVersion, MaxVersion
        tags, pos = uvarint(body, pos)
        assert tags == 0
    pos += 4  # ThrottleTimeMs
    fields: dict[int, bytes] = {}
    n, pos = uvarint(body, pos)
    for _ in range(n):
        tag, pos = uvarint(body, pos)
        size, pos = uvarint(body, pos)
        size += skip_tag if size > 0 else 0
        if pos + size > len(body):
            raise BufferError(f"at {pos}/{len(body)}: expected {size} bytes")
        fields[tag] = body[pos : pos + size]
        pos += size
    return fields, pos


def test_answer_is_valid_and_carries_default_tagged_fields(stack: Settings) -> None:
    body = api_versions_v3(stack.require_kafka)
    fields, end = parse(body)
    assert end == len(body)  # nothing left over, nothing missing
    assert fields == {
        0: b"\x01",  # SupportedFeatures: empty compact array
        1: b"\xff" * 8,  # FinalizedFeaturesEpoch: -1
        2: b"\x01",  # FinalizedFeatures: empty compact array
        3: b"\x00",  # ZkMigrationReady: false
    }


def test_librdkafka_2_0_skip_of_tagged_fields_underflows_on_it(stack: Settings) -> None:
    body = api_versions_v3(stack.require_kafka)
    try:
        parse(body, skip_tag=-1)
    except BufferError as exc:
        reason = str(exc)
    else:
        raise AssertionError("the off-by-one skip read the answer without underflow")
    # kcat: "at 274/279 (...): expected 216172782113783806 bytes > 5 remaining bytes".
    assert reason == f"at {len(body) - 5}/{len(body)}: expected 216172782113783806 bytes"
