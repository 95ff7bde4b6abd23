"""The WebSocket close codes the gateway sends, by name (RFC 6455 section 7.4.1)."""

from __future__ import annotations

from enum import IntEnum


class CloseCode(IntEnum):
    """Why the gateway closed a client's socket."""

    #: Policy violation: the session key in the URL is not one (e.g. ``2023-monaco-R``).
    BAD_SESSION = 1008
    #: Internal error: the live feed (Redis subscription or snapshot) is lost or unavailable;
    #: reconnecting gets a new subscription and a fresh snapshot.
    UNAVAILABLE = 1011
    #: Try again later: the client fell too far behind the updates.
    TOO_SLOW = 1013
    #: Reads need a user (PITWALL_AUTH_READS) and the socket gave no valid token or key.
    UNAUTHORIZED = 4401
