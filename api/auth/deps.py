"""Who is calling, and the dependencies that require a reader, a user or an admin.

Credentials: ``Authorization: Bearer <access token>`` and ``X-API-Key`` (the shared
``PITWALL_API_KEY``, which acts as an admin, or a key an admin created). No credentials is
anonymous. Every credential a request carries must be valid: one that is wrong (forged,
expired, revoked, empty, an ``Authorization`` of another scheme) is a 401 even when the other
is valid and even where anonymous callers are welcome, so that a client learns at once that
its token died and no half-valid request gets through. With both valid, the token's user is
the caller. Missing credentials where they are needed: 401; a user without the role: 403.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.auth import store
from api.auth.security import TokenError, decode

log = logging.getLogger(__name__)

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="An access token from POST /api/v1/auth/login (60 minutes).",
)
api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    scheme_name="apiKey",
    description="An API key created by an admin, or the shared PITWALL_API_KEY (admin).",
)
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="pitwall", ApiKey'}


@dataclass(frozen=True)
class Principal:
    """The caller: a signed-in user, an API key, or the shared admin key."""

    kind: Literal["user", "api_key", "shared_key"]
    id: str
    name: str
    role: Literal["user", "admin"]

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def actor(self) -> str:
        """How the audit log names it."""
        return {"user": "user:", "api_key": "key:", "shared_key": ""}[self.kind] + (
            self.name if self.kind != "shared_key" else "shared-api-key"
        )

    @property
    def rate_key(self) -> str:
        return f"{self.kind}:{self.id}"


def unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers=CHALLENGE)


def _pool(request: Request):
    pg = request.app.state.resources.pg
    if pg is None:
        raise HTTPException(503, "PostgreSQL is not configured: users and API keys live there.")
    return pg


async def principal_from_token(request_app: Any, token: str) -> Principal:
    """The user of an access token (also the WebSocket's check); 401 when it is not valid."""
    res = request_app.state.resources
    try:
        claims = decode(res.settings.jwt_secret.get_secret_value(), token, "access")
    except TokenError as exc:
        raise unauthorized(str(exc)) from None
    if res.pg is None:
        raise HTTPException(503, "PostgreSQL is not configured: users live there.")
    async with res.pg.connection(timeout=5) as conn:
        user = await store.user_by_id(conn, int(claims["sub"]))
    if user is None or user["disabled"]:
        raise unauthorized("the token's user no longer exists or is disabled")
    after = user["tokens_valid_after"]
    if after is not None and float(claims["iat"]) < after.timestamp():
        raise unauthorized("token revoked: signed out since it was issued")
    return Principal("user", str(user["user_id"]), user["username"], user["role"])


async def principal_from_key(request: Request, key: str) -> Principal:
    settings = request.app.state.resources.settings
    if hmac.compare_digest(key.encode(), settings.api_key.encode()):
        return Principal("shared_key", "shared", "PITWALL_API_KEY", "admin")
    async with _pool(request).connection(timeout=5) as conn:
        row = await store.key_by_secret(conn, key)
    if row is None:
        await audit(request, "api_key.rejected", "denied", detail={"prefix": key[:11]})
        raise unauthorized("invalid or revoked API key")
    return Principal("api_key", str(row["key_id"]), row["prefix"], row["role"])


def bearer_token(authorization: str) -> str:
    """The token of an ``Authorization: Bearer <token>`` value; 401 for anything else."""
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("Authorization must be 'Bearer <access token>'")
    return token.strip()


async def principal_of(
    request: Any, tokens: list[str | None], keys: list[str | None]
) -> Principal | None:
    """The caller of every access token and API key given (None: none given); 401 as soon
    as one of them is not valid. The first token's user, else the first key's, is it."""
    found: list[Principal] = []
    for token in (t for t in tokens if t is not None):
        found.append(await principal_from_token(request.app, token))
    for key in (k for k in keys if k is not None):
        if not key.strip():
            raise unauthorized("empty X-API-Key")
        found.append(await principal_from_key(request, key))
    return found[0] if found else None


async def optional_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    key: Annotated[str | None, Depends(api_key_header)],
) -> Principal | None:
    """The caller, or None when no credentials were sent (cached on the request). The raw
    headers decide (``credentials`` and ``key`` declare the schemes in the OpenAPI): an
    ``Authorization`` that ``HTTPBearer`` passes over as malformed is refused, not ignored."""
    cached = getattr(request.state, "principal", False)
    if cached is not False:
        return cached
    authorization = request.headers.get("authorization")
    tokens = [bearer_token(authorization)] if authorization is not None else []
    principal = await principal_of(request, tokens, [request.headers.get("x-api-key")])
    request.state.principal = principal
    return principal


Caller = Annotated[Principal | None, Depends(optional_principal)]


async def require_reader(request: Request, caller: Caller) -> Principal | None:
    """Reads are public unless ``PITWALL_AUTH_READS`` is set; then they need a user or key."""
    if caller is None and request.app.state.resources.settings.auth_reads:
        raise unauthorized("sign in (Authorization: Bearer <token>) or send an X-API-Key")
    return caller


async def require_user(caller: Caller) -> Principal:
    if caller is None:
        raise unauthorized("sign in (Authorization: Bearer <token>) or send an X-API-Key")
    return caller


async def require_admin(request: Request, caller: Caller) -> Principal:
    """An admin user's token, an admin API key or the shared X-API-Key."""
    if caller is None:
        raise unauthorized(
            "admin only: send an admin's Authorization: Bearer token or an X-API-Key"
        )
    if not caller.is_admin:
        await audit(request, "admin.forbidden", "denied", actor=caller.actor)
        raise HTTPException(403, "admin only: this user or key has the 'user' role")
    return caller


async def audit(
    request: Request,
    event: str,
    outcome: str,
    *,
    actor: str | None = None,
    subject: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append to the audit log; a failure is logged, never the caller's error."""
    pg = request.app.state.resources.pg
    if pg is None:
        return
    state = request.state
    try:
        async with pg.connection(timeout=5) as conn:
            await store.audit(
                conn,
                event,
                outcome,
                actor=actor,
                subject=subject,
                ip=getattr(state, "client_ip", None),
                request_id=getattr(state, "request_id", None),
                detail=detail,
            )
    except Exception as exc:
        log.warning("audit log write failed (%s %s): %s", event, outcome, exc)


User = Annotated[Principal, Depends(require_user)]
Admin = Annotated[Principal, Depends(require_admin)]
