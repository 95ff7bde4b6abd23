"""The services' domain errors. Each message is meant for the user and says what is there
instead or what to run; ``api.errors`` maps each class to its HTTP status in one table."""

from __future__ import annotations


class NotFound(LookupError):
    """What was asked for does not exist: an unknown session, race, season or job."""


class Unavailable(RuntimeError):
    """What the answer needs is missing: a model not trained, a history not ingested."""


class Invalid(ValueError):
    """A request whose values pass their declared constraints but break a rule between them
    or of the model (a compound without a model, a lap beyond the race's distance)."""
