"""Failed sign-ins, throttled per user name and per client address, with backoff.

Counted in PostgreSQL (``login_failures``, migration step 2), where the users are: every API
process sees the same counts, and the throttle holds whether Redis is up or not. A user name
may fail :data:`FREE_USER` times in a row and an address :data:`FREE_ADDRESS` times (an
office behind one address has many users); each failure after that blocks the name (or the
address) for twice as long as the one before, from :data:`BASE_S` up to :data:`MAX_S`. While
blocked, sign-ins are refused with 429 and ``Retry-After`` before any password is looked at
(so guessing costs the guesser time, not the server hashing). A success clears its user
name's count, not its address's (an attacker's own account must not clear the address it
guesses from); a count whose last failure is :data:`FORGET_S` old starts over. Names that
do not exist are counted like the others, so the answers tell nothing about which exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from psycopg import AsyncConnection

FREE_USER = 5
FREE_ADDRESS = 20
BASE_S = 1.0
MAX_S = 900.0
FORGET_S = 900.0


@dataclass(frozen=True)
class Blocked:
    """A sign-in refused for now: which count and for how many more seconds."""

    scope: str  # "user" or "address"
    retry_after: int


def backoff(failures: int, free: int) -> float:
    """Seconds blocked after the ``failures``-th failure in a row (0 while still free)."""
    over = failures - free
    return 0.0 if over <= 0 else min(BASE_S * 2 ** (over - 1), MAX_S)


def _subjects(username: str, address: str | None) -> list[tuple[str, str, int]]:
    out = [("user", username.casefold(), FREE_USER)]
    if address:
        out.append(("address", address, FREE_ADDRESS))
    return out


async def blocked(conn: AsyncConnection, username: str, address: str | None) -> Blocked | None:
    """The count that blocks a sign-in now, if any (the longer wait when both do)."""
    now = datetime.now(UTC)
    found: Blocked | None = None
    for scope, subject, _ in _subjects(username, address):
        cur = await conn.execute(
            "SELECT blocked_until FROM login_failures WHERE scope = %s AND subject = %s",
            (scope, subject),
        )
        row = await cur.fetchone()
        until = _col(row, "blocked_until")
        if until is not None and until > now:
            wait = int((until - now).total_seconds()) + 1
            if found is None or wait > found.retry_after:
                found = Blocked(scope, wait)
    return found


async def failed(conn: AsyncConnection, username: str, address: str | None) -> dict[str, int]:
    """Count a failure against the name and the address; their counts now."""
    counts = {}
    forget = timedelta(seconds=FORGET_S)
    for scope, subject, free in _subjects(username, address):
        cur = await conn.execute(
            "INSERT INTO login_failures AS f (scope, subject, failures) VALUES (%s, %s, 1) "
            "ON CONFLICT (scope, subject) DO UPDATE SET failures = CASE "
            "WHEN f.last_failure_at < now() - %s THEN 1 ELSE f.failures + 1 END, "
            "last_failure_at = now() RETURNING failures",
            (scope, subject, forget),
        )
        n = int(_col(await cur.fetchone(), "failures"))
        wait = backoff(n, free)
        if wait:
            await conn.execute(
                "UPDATE login_failures SET blocked_until = now() + %s "
                "WHERE scope = %s AND subject = %s",
                (timedelta(seconds=wait), scope, subject),
            )
        counts[scope] = n
    return counts


async def succeeded(conn: AsyncConnection, username: str) -> None:
    """A sign-in of ``username`` went through: its count starts over."""
    await conn.execute(
        "DELETE FROM login_failures WHERE scope = 'user' AND subject = %s", (username.casefold(),)
    )


def _col(row: object, name: str):
    """A column of a row from a dict-row or a tuple-row connection."""
    if row is None:
        return None
    return row[name] if isinstance(row, dict) else row[0]  # type: ignore[index]
