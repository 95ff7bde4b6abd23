"""The WebSocket route: ``/ws/sessions/{session_key}``, served by the app's gateway."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from api.gateway.hub import Gateway

router = APIRouter()


@router.websocket("/ws/sessions/{session_key}")
async def session_socket(ws: WebSocket, session_key: str) -> None:
    """Snapshot, then every live update of the session, with heartbeats."""
    gateway: Gateway = ws.app.state.gateway
    await gateway.serve(ws, session_key)
