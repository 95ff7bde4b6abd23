"""The HTTP policy of every response: request ids, client address, security headers, CORS.

- **Request id**: ``X-Request-ID`` from the client when it is a sane token (1-64 of
  ``[A-Za-z0-9._-]``), else a new one; on every response and in every log line of the
  request (structlog context), and in the audit log.
- **Client address**: the connection's peer, or, when the peer is a trusted proxy
  (``PITWALL_TRUSTED_PROXIES``), the nearest untrusted address of ``X-Forwarded-For``. A
  client can never choose its own address (the rate limit and the audit log rely on it).
- **Security headers**: ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY`` and
  ``frame-ancestors 'none'``, ``Referrer-Policy: no-referrer``; the dashboard's HTML pages
  get a Content-Security-Policy allowing only this origin's scripts; HSTS when the request
  came over TLS (directly, or ``X-Forwarded-Proto: https`` from a trusted proxy).
- **CORS**: only the origins of ``PITWALL_CORS_ORIGINS`` (none by default), via Starlette's
  ``CORSMiddleware`` (see :func:`cors_options`).

Pure ASGI (no response buffering), so it costs a header rewrite per request.
"""

from __future__ import annotations

import ipaddress
import re
import time
import uuid
from collections.abc import Iterable
from typing import Any

import structlog

from core.settings import Settings

log = structlog.get_logger("pitwall.http")

REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
HSTS = "max-age=31536000; includeSubDomains"
#: The dashboard's pages: own scripts only; inline style attributes (the timing tower's bars);
#: WebSockets to this host; no framing, plugins or foreign form targets.
DASHBOARD_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self' ws: wss:; font-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
#: Everything else (JSON, and /docs, whose page loads Swagger UI from its CDN).
API_CSP = "frame-ancestors 'none'"
QUIET_PATHS = ("/health", "/metrics", "/static")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(items: Iterable[str]) -> list[Network]:
    """``["10.0.0.0/8", "127.0.0.1"]`` -> networks; a bad entry is a ValueError naming it."""
    out = []
    for item in items:
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"PITWALL_TRUSTED_PROXIES: {item!r} is not an address") from None
    return out


def _trusted(address: str, networks: list[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def client_ip(scope: dict[str, Any], trusted: list[Network]) -> str:
    """The client's address: the peer, or behind trusted proxies the nearest untrusted hop
    of X-Forwarded-For (read from the right: only the proxies' own entries are believed)."""
    client = scope.get("client")
    peer = client[0] if client else "unknown"
    if not trusted or not _trusted(peer, trusted):
        return peer
    forwarded = _header(scope, b"x-forwarded-for")
    if not forwarded:
        return peer
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer


def is_https(scope: dict[str, Any], trusted: list[Network]) -> bool:
    if scope.get("scheme") in ("https", "wss"):
        return True
    client = scope.get("client")
    if client and trusted and _trusted(client[0], trusted):
        proto = _header(scope, b"x-forwarded-proto")
        return bool(proto) and proto.split(",")[0].strip().lower() == "https"
    return False


def cors_options(settings: Settings) -> dict[str, Any] | None:
    """Arguments of Starlette's CORSMiddleware for the configured origins (None: no CORS)."""
    origins = settings.cors_origin_list
    if not origins:
        return None
    return {
        "allow_origins": origins,
        "allow_methods": ["GET", "POST", "DELETE", "OPTIONS"],
        "allow_headers": ["Authorization", "Content-Type", "X-API-Key", "X-Request-ID"],
        "expose_headers": [
            "X-Request-ID",
            "Retry-After",
            "X-RateLimit-Limit",
            "X-RateLimit-Remaining",
        ],
        "allow_credentials": False,  # tokens travel in headers, never in cookies
        "max_age": 600,
    }


class RequestContextMiddleware:
    """Request id, client address and security headers on every HTTP response (and the
    request id and address on WebSocket handshakes, for the logs)."""

    def __init__(self, app: Any, trusted_proxies: list[Network]) -> None:
        self.app = app
        self.trusted = trusted_proxies

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        request_id = given if given and REQUEST_ID_RE.match(given) else uuid.uuid4().hex
        ip = client_ip(scope, self.trusted)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["client_ip"] = ip
        structlog.contextvars.bind_contextvars(request_id=request_id)
        if scope["type"] == "websocket":
            try:
                await self.app(scope, receive, send)
            finally:
                structlog.contextvars.unbind_contextvars("request_id")
            return
        https = is_https(scope, self.trusted)
        path = scope.get("path", "")
        started = time.perf_counter()
        status = [500]

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                html = any(
                    k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in headers
                )
                docs = path.startswith(("/docs", "/redoc"))
                extra = [
                    (b"x-request-id", request_id.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"no-referrer"),
                ]
                if b"content-security-policy" not in names:
                    csp = DASHBOARD_CSP if html and not docs else API_CSP
                    extra.append((b"content-security-policy", csp.encode()))
                if https:
                    extra.append((b"strict-transport-security", HSTS.encode()))
                message = {**message, "headers": headers + extra}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            if not path.startswith(QUIET_PATHS):
                log.info(
                    "http",
                    method=scope.get("method"),
                    path=path,
                    status=status[0],
                    ms=round((time.perf_counter() - started) * 1000, 1),
                    client=ip,
                )
            structlog.contextvars.unbind_contextvars("request_id")


__all__ = [
    "RequestContextMiddleware",
    "client_ip",
    "cors_options",
    "is_https",
    "parse_networks",
]
