"""The WebSocket route: ``/ws/sessions/{session_key}``, served by the app's gateway.

With ``PITWALL_AUTH_READS`` set the socket needs a user or API key, given by any of: the
query (``?token=<access token>``), the handshake's ``Authorization: Bearer`` or ``X-API-Key``
header, or, for browsers that cannot set headers and should not put tokens in URLs, a first
message ``{"type": "auth", "token": "..."}`` (or ``"api_key"``) within
``AUTH_TIMEOUT_S`` seconds of connecting. A socket that gives none, or a bad one, is closed
with 4401 (:class:`CloseCode.UNAUTHORIZED`). Reads are public otherwise, and none is asked.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from fastapi import APIRouter, HTTPException, WebSocket
from starlette.websockets import WebSocketState

from api.auth.deps import Principal, bearer_token, principal_of
from api.gateway.close_codes import CloseCode
from api.gateway.hub import Gateway

router = APIRouter()
AUTH_TIMEOUT_S = 10.0


async def _first_message_credentials(ws: WebSocket) -> dict[str, Any]:
    await ws.accept()
    text = await asyncio.wait_for(ws.receive_text(), AUTH_TIMEOUT_S)
    message = orjson.loads(text)
    if not isinstance(message, dict) or message.get("type") != "auth":
        raise ValueError("the first message must be {'type': 'auth', 'token': ...}")
    return message


async def authenticate(ws: WebSocket, token: str | None) -> Principal:
    """The socket's user or key; raises HTTPException (401) or ValueError/TimeoutError.
    Every credential given (``?token=``, the Authorization and X-API-Key headers, or the
    first message's) must be valid, as for REST (:func:`api.auth.deps.principal_of`)."""
    header = ws.headers.get("authorization")
    tokens = [token, bearer_token(header) if header is not None else None]
    keys = [ws.headers.get("x-api-key")]
    if all(c is None for c in (*tokens, *keys)):
        message = await _first_message_credentials(ws)
        given = [message.get("token"), message.get("api_key")]
        if any(c is not None and not isinstance(c, str) for c in given):
            raise ValueError("token and api_key must be strings")
        tokens, keys = [given[0]], [given[1]]
    principal = await principal_of(ws, tokens, keys)
    if principal is None:
        raise ValueError("no token or api_key given")
    return principal


@router.websocket("/ws/sessions/{session_key}")
async def session_socket(ws: WebSocket, session_key: str, token: str | None = None) -> None:
    """Snapshot, then every live update of the session, with heartbeats."""
    gateway: Gateway = ws.app.state.gateway
    if ws.app.state.resources.settings.auth_reads:
        try:
            await authenticate(ws, token)
        except (HTTPException, ValueError, TimeoutError, orjson.JSONDecodeError) as exc:
            reason = exc.detail if isinstance(exc, HTTPException) else str(exc) or "timed out"
            if ws.client_state == WebSocketState.CONNECTING:
                await ws.accept()
            await ws.close(CloseCode.UNAUTHORIZED, f"sign in: {reason}"[:120])
            return
    await gateway.serve(ws, session_key)
