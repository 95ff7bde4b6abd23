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

from api.auth.deps import Principal, principal_from_key, principal_from_token
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
    """The socket's user or key; raises HTTPException (401) or ValueError/TimeoutError."""
    header = ws.headers.get("authorization", "")
    scheme, _, bearer = header.partition(" ")
    key = ws.headers.get("x-api-key")
    if token is None and scheme.lower() == "bearer" and bearer:
        token = bearer.strip()
    if token is None and key is None:
        message = await _first_message_credentials(ws)
        token, key = message.get("token"), message.get("api_key")
    if isinstance(token, str) and token:
        return await principal_from_token(ws.app, token)
    if isinstance(key, str) and key:
        return await principal_from_key(ws, key)  # type: ignore[arg-type]
    raise ValueError("no token or api_key given")


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
