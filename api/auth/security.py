"""Password hashes and JSON Web Tokens: pure functions, no I/O.

Passwords are hashed with argon2id (pwdlib's defaults: OWASP's recommended parameters);
a hash made with older parameters is re-hashed on the next successful login. Tokens are
HS256 JWTs signed with ``PITWALL_JWT_SECRET``: an access token (``typ`` ``access``, 60
minutes by default) carries the user id and role; a refresh token (``typ`` ``refresh``)
carries only the user id and a ``jti`` that the database marks used on its one use.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

ALGORITHM = "HS256"
ISSUER = "pitwall"
TokenType = Literal["access", "refresh"]


@lru_cache(maxsize=1)
def _hasher() -> PasswordHash:
    return PasswordHash((Argon2Hasher(),))


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (about 50 ms of CPU: call it off the event loop)."""
    return _hasher().hash(password)


def verify_password(password: str, hashed: str | None) -> tuple[bool, str | None]:
    """(matches, new hash when the stored one should be upgraded). With ``hashed`` None (no
    such user) a dummy hash is checked, so an unknown name costs the same time as a wrong
    password."""
    if hashed is None:
        _hasher().verify(password, _dummy_hash())
        return False, None
    try:
        return _hasher().verify_and_update(password, hashed)
    except Exception:  # a malformed stored hash matches nothing
        return False, None


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher().hash(secrets.token_urlsafe(16))


def digest(secret: str) -> str:
    """SHA-256 hex digest: how API keys and refresh tokens are stored (long random strings,
    so a fast digest is safe, and it can be looked up)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_api_key() -> tuple[str, str]:
    """A new API key and its public prefix (shown in listings): ``pw_<prefix>_<secret>``."""
    prefix = secrets.token_hex(4)
    return f"pw_{prefix}_{secrets.token_urlsafe(32)}", prefix


class TokenError(Exception):
    """A token that is malformed, forged, expired or of the wrong type; says which."""


@dataclass(frozen=True)
class IssuedToken:
    token: str
    jti: str
    issued_at: float
    expires_at: float


def issue(
    secret: str, typ: TokenType, user_id: int, lifetime_s: float, role: str | None = None
) -> IssuedToken:
    """Sign a token of type ``typ`` for ``user_id`` valid for ``lifetime_s`` seconds."""
    now = time.time()
    jti = uuid.uuid4().hex
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": str(user_id),
        "typ": typ,
        "jti": jti,
        "iat": now,
        "exp": now + lifetime_s,
    }
    if role is not None:
        claims["role"] = role
    return IssuedToken(jwt.encode(claims, secret, algorithm=ALGORITHM), jti, now, now + lifetime_s)


def decode(secret: str, token: str, typ: TokenType) -> dict[str, Any]:
    """The claims of a valid token of type ``typ``; :class:`TokenError` otherwise."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "typ", "jti", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenError("token expired") from None
    except jwt.InvalidTokenError as exc:
        raise TokenError(f"invalid token: {exc}") from None
    if claims.get("typ") != typ:
        raise TokenError(f"not an {typ} token" if typ == "access" else f"not a {typ} token")
    if not str(claims["sub"]).isdigit():
        raise TokenError("invalid token: bad subject")
    return claims


def access_subject(token: str, secret: str) -> str | None:
    """The subject of a valid access token, else None (the rate limiter's user key)."""
    try:
        return str(decode(secret, token, "access")["sub"])
    except TokenError:
        return None
