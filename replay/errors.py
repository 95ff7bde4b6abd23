"""Errors a replay reports to the user: each says what is wrong and what is available."""

from __future__ import annotations


class ReplayError(RuntimeError):
    """A session could not be replayed; the message is meant for the user."""


class UnknownSessionError(ReplayError):
    """The race or session asked for is not known (or not in the offline cache)."""


class CorruptCacheError(ReplayError):
    """A FastF1 cache file of the session could not be read."""
