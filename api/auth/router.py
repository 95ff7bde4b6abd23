"""``/api/v1/auth``: register, login, refresh, logout and me; API keys and the audit log.

Every outcome of a sign-in, refresh, logout and key change is written to the audit log
(``GET /api/v1/auth/audit``, admins). A refresh token works once: a second use answers 401,
is audited as ``refresh.reused`` and ends every session of its user (whoever holds the
stolen copy loses it too).
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response

from api.auth import store, throttle
from api.auth.deps import Admin, User, audit, unauthorized
from api.auth.models import (
    AuditEntry,
    Credentials,
    KeyOut,
    KeyRequest,
    Me,
    NewKey,
    NewUserRequest,
    RefreshRequest,
    RegisterRequest,
    TokenPair,
    UserOut,
)
from api.auth.security import TokenError, decode, hash_password, issue, verify_password
from api.deps import PG

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


def _secret(request: Request) -> str:
    return request.app.state.resources.settings.jwt_secret.get_secret_value()


async def _tokens(request: Request, conn: PG, user_id: int, role: str) -> TokenPair:
    settings = request.app.state.resources.settings
    access_s = settings.access_token_minutes * 60
    refresh_s = settings.refresh_token_days * 86400
    secret = _secret(request)
    access = issue(secret, "access", user_id, access_s, role=role)
    refresh = issue(secret, "refresh", user_id, refresh_s)
    await store.store_refresh(conn, refresh.jti, user_id, refresh.expires_at)
    return TokenPair(
        access_token=access.token,
        refresh_token=refresh.token,
        expires_in=access_s,
        refresh_expires_in=refresh_s,
    )


async def _create(conn: PG, body: Credentials, role: str) -> dict:
    hashed = await asyncio.to_thread(hash_password, body.password)
    user = await store.create_user(conn, body.username, hashed, role)
    if user is None:
        raise HTTPException(409, f"username {body.username!r} is taken")
    return user


@router.post(
    "/register",
    response_model=UserOut,
    status_code=201,
    summary="Create an account",
    responses={409: {"description": "The username is taken."}},
)
async def register(body: RegisterRequest, request: Request, conn: PG) -> dict:
    """A new user with the ``user`` role (403 when registration is closed:
    ``PITWALL_OPEN_REGISTRATION=0``; an admin then adds users)."""
    if not request.app.state.resources.settings.open_registration:
        await audit(request, "user.register", "denied", subject=body.username)
        raise HTTPException(403, "registration is closed: ask an admin for an account")
    user = await _create(conn, body, "user")
    await audit(request, "user.register", "ok", actor=f"user:{body.username}")
    return user


@router.post(
    "/users",
    response_model=UserOut,
    status_code=201,
    summary="Create a user (admin)",
    responses={409: {"description": "The username is taken."}},
)
async def add_user(body: NewUserRequest, request: Request, conn: PG, admin: Admin) -> dict:
    """A user with the given role, whatever the registration setting."""
    user = await _create(conn, body, body.role)
    await audit(
        request, "user.create", "ok", actor=admin.actor, subject=body.username,
        detail={"role": body.role},
    )  # fmt: skip
    return user


@router.post(
    "/login",
    response_model=TokenPair,
    summary="Sign in",
    responses={429: {"description": "Too many failed sign-ins for this name or address."}},
)
async def login(body: Credentials, request: Request, conn: PG) -> TokenPair:
    """An access token (60 minutes) and a refresh token (one use) for a username and
    password. Wrong name and wrong password answer the same 401 in the same time. After
    repeated failures of a name or from an address, sign-ins are refused for a while (429
    with ``Retry-After``, doubling with each further failure)."""
    address = getattr(request.state, "client_ip", None)
    if (block := await throttle.blocked(conn, body.username, address)) is not None:
        await audit(
            request, "login.throttled", "denied", subject=body.username,
            detail={"scope": block.scope, "retry_after": block.retry_after},
        )  # fmt: skip
        raise HTTPException(
            429,
            f"too many failed sign-ins for this {block.scope}; retry in {block.retry_after} s",
            headers={"Retry-After": str(block.retry_after)},
        )
    user = await store.user_by_name(conn, body.username)
    ok, upgraded = await asyncio.to_thread(
        verify_password, body.password, user["password_hash"] if user else None
    )
    if user is None or not ok or user["disabled"]:
        counts = await throttle.failed(conn, body.username, address)
        await audit(request, "login", "denied", subject=body.username, detail={"failures": counts})
        raise unauthorized("wrong username or password")
    await throttle.succeeded(conn, body.username)
    if upgraded:
        await store.set_password_hash(conn, user["user_id"], upgraded)
    pair = await _tokens(request, conn, user["user_id"], user["role"])
    await audit(request, "login", "ok", actor=f"user:{user['username']}")
    return pair


@router.post("/refresh", response_model=TokenPair, summary="New tokens for a refresh token")
async def refresh(body: RefreshRequest, request: Request, conn: PG) -> TokenPair:
    """Trade a refresh token for a new pair. Each refresh token works once."""
    try:
        claims = decode(_secret(request), body.refresh_token, "refresh")
    except TokenError as exc:
        await audit(request, "refresh", "denied", detail={"reason": str(exc)})
        raise unauthorized(str(exc)) from None
    outcome, user_id = await store.use_refresh(conn, claims["jti"])
    if outcome == "reused" and user_id is not None:
        await store.end_sessions(conn, user_id)
        await audit(request, "refresh.reused", "denied", subject=f"user_id:{user_id}")
        raise unauthorized("refresh token already used: every session of the user is ended")
    user = await store.user_by_id(conn, user_id) if outcome == "ok" and user_id else None
    if user is None or user["disabled"]:
        await audit(request, "refresh", "denied", detail={"reason": outcome})
        raise unauthorized(f"refresh token {outcome if outcome != 'ok' else 'user unknown'}")
    pair = await _tokens(request, conn, user["user_id"], user["role"])
    await audit(request, "refresh", "ok", actor=f"user:{user['username']}")
    return pair


@router.post("/logout", status_code=204, summary="Sign out")
async def logout(body: RefreshRequest, request: Request, conn: PG) -> Response:
    """Revoke the refresh token and every access token of its user issued so far."""
    try:
        claims = decode(_secret(request), body.refresh_token, "refresh")
    except TokenError as exc:
        raise unauthorized(str(exc)) from None
    user_id = await store.revoke_refresh(conn, claims["jti"])
    if user_id is None:
        raise unauthorized("unknown refresh token")
    await store.end_sessions(conn, user_id)
    await audit(request, "logout", "ok", subject=f"user_id:{user_id}")
    return Response(status_code=204)


@router.get("/me", response_model=Me, summary="Who am I")
async def me(caller: User) -> Me:
    """The signed-in user, or the API key, the request was made with."""
    return Me(kind=caller.kind, id=caller.id, name=caller.name, role=caller.role)


@router.post("/keys", response_model=NewKey, status_code=201, summary="Create an API key (admin)")
async def create_key(body: KeyRequest, request: Request, conn: PG, admin: Admin) -> dict:
    """A new API key with a role. The key is in this answer only; store it now."""
    row, key = await store.create_key(conn, body.name, body.role, admin.actor)
    await audit(
        request, "api_key.create", "ok", actor=admin.actor, subject=f"key:{row['prefix']}",
        detail={"name": body.name, "role": body.role},
    )  # fmt: skip
    return {**row, "key": key}


@router.get("/keys", response_model=list[KeyOut], summary="List API keys (admin)")
async def list_keys(conn: PG, admin: Admin) -> list[dict]:
    """Every API key, revoked ones too (never the keys themselves)."""
    return await store.list_keys(conn)


@router.delete(
    "/keys/{key_id}",
    response_model=KeyOut,
    summary="Revoke an API key (admin)",
    responses={404: {"description": "No such key."}},
)
async def revoke_key(
    key_id: Annotated[int, Path(ge=1, le=2**62)], request: Request, conn: PG, admin: Admin
) -> dict:
    """The key stops working at once (every process looks keys up in PostgreSQL)."""
    row = await store.revoke_key(conn, key_id)
    if row is None:
        raise HTTPException(404, f"no API key {key_id}")
    await audit(request, "api_key.revoke", "ok", actor=admin.actor, subject=f"key:{row['prefix']}")
    return row


@router.get("/audit", response_model=list[AuditEntry], summary="The audit log (admin)")
async def audit_log(
    conn: PG,
    admin: Admin,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    event: Annotated[
        str | None, Query(pattern=r"^[a-z_.]{1,40}$", description="e.g. login, refresh.reused")
    ] = None,
) -> list[dict]:
    """Sign-ins, refreshes, logouts, key changes and admin actions, newest first."""
    return await store.audit_rows(conn, limit, offset, event)
