"""What the analyses report when asked for something the session does not have: a driver who
did not run, a lap without a time, a race-only analysis of a timed session. The API answers
these as 404 (``api.errors``); the message names what is there instead."""

from __future__ import annotations


class NotInSession(LookupError):
    """The session has no such driver, lap or analysis; the message is meant for the user."""
