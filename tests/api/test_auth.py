"""Auth against the real PostgreSQL and Redis: users, tokens, roles, API keys, the audit log,
start-up refusal, CORS, security headers, rate limits per user and per address, throttled
sign-ins. The tests of the app in-process run twice: with Redis up, and with Redis stopped
(an embedded Redis started, then stopped: its port refuses), where every limit must hold."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import jwt
import psycopg
import pytest

from api.auth.security import hash_password, issue
from api.main import create_app
from core.settings import InsecureSettingsError, Settings, get_settings

PASSWORD = "correct horse battery"
READ = "/predictions/safety-car?circuit=monaco&laps_remaining=5"


#: The REDIS_URL of a Redis that was stopped, while the ``redis_mode`` "stopped" runs.
REDIS_DOWN: dict[str, str] = {}


@pytest.fixture(scope="module")
def stopped_redis(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of an embedded Redis that ran and was stopped."""
    from pitwall.embedded.redis import EmbeddedRedis

    server = EmbeddedRedis(tmp_path_factory.mktemp("stopped-redis"))
    url = server.start()
    server.stop()
    return url


@pytest.fixture(params=["redis up", "redis stopped"])
def redis_mode(request: pytest.FixtureRequest, stopped_redis: str) -> Iterator[str]:
    """Run a test with the stack's Redis, then with a stopped one (``app_client`` uses it)."""
    if request.param == "redis stopped":
        REDIS_DOWN["url"] = stopped_redis
    try:
        yield request.param
    finally:
        REDIS_DOWN.clear()


@asynccontextmanager
async def app_client(
    settings: Settings, peer: str | None = None, **headers: str
) -> AsyncIterator[httpx.AsyncClient]:
    """The app in-process, from ``peer`` (default: an address of its own, so that no two
    clients share a rate-limit or sign-in bucket), on a stopped Redis in that mode."""
    peer = peer or f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"
    if REDIS_DOWN:
        settings = settings.model_copy(update={"redis_url": REDIS_DOWN["url"]})
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(peer, 4000))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://api", headers=headers
        ) as c:
            yield c


def name(tag: str) -> str:
    return f"{tag}{uuid.uuid4().hex[:10]}"


async def signed_in(c: httpx.AsyncClient, username: str | None = None) -> tuple[str, dict]:
    username = username or name("u")
    r = await c.post("/api/v1/auth/register", json={"username": username, "password": PASSWORD})
    assert r.status_code == 201, r.text
    r = await c.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return username, r.json()


def bearer(pair: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair['access_token']}"}


def make_admin(settings: Settings) -> str:
    username = name("admin")
    with psycopg.connect(settings.require_database, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO users (username, password_hash, role) VALUES (%s, %s, 'admin')",
            (username, hash_password(PASSWORD)),
        )
    return username


def audit_events(settings: Settings, since: int) -> list[tuple[str, str]]:
    with psycopg.connect(settings.require_database) as conn:
        rows = conn.execute(
            "SELECT event, outcome FROM audit_log WHERE audit_id > %s ORDER BY audit_id", (since,)
        ).fetchall()
    return [(e, o) for e, o in rows]


def last_audit_id(settings: Settings) -> int:
    with psycopg.connect(settings.require_database) as conn:
        return conn.execute("SELECT coalesce(max(audit_id), 0) FROM audit_log").fetchone()[0]


async def test_register_login_me_refresh_once_and_logout(stack: Settings, redis_mode: str) -> None:
    async with app_client(get_settings()) as c:
        since = last_audit_id(stack)
        username, pair = await signed_in(c)
        assert pair["token_type"] == "bearer" and pair["expires_in"] == 3600
        me = await c.get("/api/v1/auth/me", headers=bearer(pair))
        assert me.status_code == 200 and me.json()["name"] == username
        assert me.json()["role"] == "user" and me.json()["kind"] == "user"

        r = await c.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert r.status_code == 200, r.text
        second = r.json()
        assert (await c.get("/api/v1/auth/me", headers=bearer(second))).status_code == 200
        # The first refresh token is spent: its reuse is refused and ends every session.
        again = await c.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert again.status_code == 401 and "already used" in again.json()["detail"]
        assert (await c.get("/api/v1/auth/me", headers=bearer(second))).status_code == 401
        r = await c.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
        assert r.status_code == 401

        _, third = (
            await c.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD}),
            None,
        )
        third = _.json()
        assert (await c.get("/api/v1/auth/me", headers=bearer(third))).status_code == 200
        out = await c.post("/api/v1/auth/logout", json={"refresh_token": third["refresh_token"]})
        assert out.status_code == 204
        assert (await c.get("/api/v1/auth/me", headers=bearer(third))).status_code == 401

        wrong = await c.post(
            "/api/v1/auth/login", json={"username": username, "password": "x" * 12}
        )
        assert wrong.status_code == 401 and wrong.json() == {"detail": "wrong username or password"}
        taken = await c.post(
            "/api/v1/auth/register", json={"username": username, "password": PASSWORD}
        )
        assert taken.status_code == 409
    events = audit_events(stack, since)
    for expected in [
        ("user.register", "ok"), ("login", "ok"), ("refresh", "ok"),
        ("refresh.reused", "denied"), ("logout", "ok"), ("login", "denied"),
    ]:  # fmt: skip
        assert expected in events, events


async def test_expired_forged_and_wrong_type_tokens_are_refused(
    stack: Settings, redis_mode: str
) -> None:
    settings = get_settings()
    secret = settings.jwt_secret.get_secret_value()
    async with app_client(settings) as c:
        _, pair = await signed_in(c)
        user_id = jwt.decode(pair["access_token"], options={"verify_signature": False})["sub"]
        expired = issue(secret, "access", int(user_id), -5, role="user").token
        forged = issue("another-secret-of-thirty-two-bytes!!", "access", int(user_id), 60).token
        claims = jwt.decode(pair["access_token"], options={"verify_signature": False})
        admin_claims = {**claims, "role": "admin"}
        tampered = jwt.encode(admin_claims, "guess", algorithm="HS256")
        unsigned = jwt.encode(admin_claims, None, algorithm="none")
        cases = {
            expired: "expired",
            forged: "invalid token",
            tampered: "invalid token",
            unsigned: "invalid token",
            pair["refresh_token"]: "not an access token",
        }
        for token, why in cases.items():
            r = await c.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 401 and why in r.json()["detail"], (why, r.text)
            assert "Bearer" in r.headers["WWW-Authenticate"]
        # A bad token is refused even where anonymous reads are welcome.
        r = await c.get("/sessions", headers={"Authorization": f"Bearer {forged}"})
        assert r.status_code == 401


async def test_roles_api_keys_revocation_and_the_audit_log(
    stack: Settings, redis_mode: str
) -> None:
    settings = get_settings()
    admin = make_admin(stack)
    async with app_client(settings) as c:
        _, user = await signed_in(c)
        r = await c.post("/admin/models/reload", headers=bearer(user))
        assert r.status_code == 403
        assert (await c.post("/admin/models/reload")).status_code == 401
        r = await c.post("/api/v1/auth/login", json={"username": admin, "password": PASSWORD})
        boss = r.json()
        r = await c.post("/admin/models/reload", headers=bearer(boss))
        assert r.status_code == 200 and r.json()["model_version"]
        # The shared key still works for admin endpoints (automation set up before users).
        shared = {"X-API-Key": settings.api_key}
        assert (await c.post("/admin/models/reload", headers=shared)).status_code == 200

        since = last_audit_id(stack)
        r = await c.post(
            "/api/v1/auth/keys", json={"name": "ci reader", "role": "user"}, headers=bearer(boss)
        )
        assert r.status_code == 201, r.text
        reader = r.json()
        assert reader["key"].startswith(f"pw_{reader['prefix']}_")
        r = await c.post(
            "/api/v1/auth/keys", json={"name": "ops", "role": "admin"}, headers=bearer(boss)
        )
        ops = r.json()
        assert (
            await c.post("/api/v1/auth/keys", json={"name": "x"}, headers=bearer(user))
        ).status_code == 403

        as_reader = {"X-API-Key": reader["key"]}
        me = await c.get("/api/v1/auth/me", headers=as_reader)
        assert me.json() == {
            "kind": "api_key",
            "id": str(reader["key_id"]),
            "name": reader["prefix"],
            "role": "user",
        }
        assert (await c.post("/admin/models/reload", headers=as_reader)).status_code == 403
        assert (
            await c.post("/admin/models/reload", headers={"X-API-Key": ops["key"]})
        ).status_code == 200

        listed = (await c.get("/api/v1/auth/keys", headers=shared)).json()
        assert {k["key_id"] for k in listed} >= {reader["key_id"], ops["key_id"]}
        assert all("key" not in k for k in listed)  # shown once, stored as a digest
        with psycopg.connect(stack.require_database) as conn:
            stored = conn.execute(
                "SELECT key_hash FROM api_keys WHERE key_id = %s", (reader["key_id"],)
            ).fetchone()[0]
        assert reader["key"] not in stored and len(stored) == 64

        r = await c.delete(f"/api/v1/auth/keys/{reader['key_id']}", headers=bearer(boss))
        assert r.status_code == 200 and r.json()["revoked_at"]
        r = await c.get("/api/v1/auth/me", headers=as_reader)
        assert r.status_code == 401 and "revoked" in r.json()["detail"]
        assert (await c.delete("/api/v1/auth/keys/999999999", headers=shared)).status_code == 404

        log = await c.get("/api/v1/auth/audit", params={"limit": 50}, headers=bearer(boss))
        assert log.status_code == 200
        assert (await c.get("/api/v1/auth/audit", headers=bearer(user))).status_code == 403
    events = audit_events(stack, since)
    for expected in [
        ("api_key.create", "ok"), ("admin.forbidden", "denied"), ("admin.models_reload", "ok"),
        ("api_key.revoke", "ok"), ("api_key.rejected", "denied"),
    ]:  # fmt: skip
        assert expected in events, events
    assert {e["event"] for e in log.json()} >= {"api_key.create", "admin.models_reload"}


async def test_closed_registration_and_reads_that_need_a_user(
    stack: Settings, redis_mode: str
) -> None:
    base = get_settings()
    closed = base.model_copy(update={"open_registration": False, "auth_reads": True})
    async with app_client(closed) as c:
        body = {"username": name("late"), "password": PASSWORD}
        r = await c.post("/api/v1/auth/register", json=body)
        assert r.status_code == 403 and "closed" in r.json()["detail"]
        r = await c.get(READ)
        assert r.status_code == 401
        assert (await c.get("/health/live")).status_code == 200  # probes stay public
        r = await c.get(READ, headers={"X-API-Key": base.api_key})
        assert r.status_code == 200
        # An admin adds the user instead.
        r = await c.post("/api/v1/auth/users", json=body, headers={"X-API-Key": base.api_key})
        assert r.status_code == 201
        r = await c.post("/api/v1/auth/login", json=body)
        assert (await c.get(READ, headers=bearer(r.json()))).status_code == 200


def test_refuses_to_serve_off_loopback_with_default_secrets(stack: Settings) -> None:
    settings = get_settings()
    assert settings.default_secrets() == ["PITWALL_API_KEY", "PITWALL_JWT_SECRET"]
    with pytest.raises(InsecureSettingsError, match="PITWALL_API_KEY and PITWALL_JWT_SECRET"):
        create_app(settings, host="0.0.0.0")
    half = settings.model_copy(update={"api_key": "k" * 40})
    with pytest.raises(InsecureSettingsError, match="PITWALL_JWT_SECRET"):
        create_app(half, host="192.0.2.10")
    create_app(settings, host="127.0.0.1")  # loopback: the development defaults are fine
    run = subprocess.run(
        [sys.executable, "-m", "pitwall.cli", "serve", "--host", "0.0.0.0", "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "refusing to listen on 0.0.0.0" in " ".join((run.stdout + run.stderr).split())


async def test_security_headers_request_ids_and_hsts_behind_trusted_proxies(stack) -> None:
    settings = get_settings()
    async with app_client(settings) as c:
        r = await c.get("/health/live")
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
        assert len(r.headers["X-Request-ID"]) == 32
        assert "Strict-Transport-Security" not in r.headers
        r = await c.get("/health/live", headers={"X-Request-ID": "trace-42"})
        assert r.headers["X-Request-ID"] == "trace-42"
        page = await c.get("/dashboard")
        csp = page.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        # X-Forwarded-Proto from an untrusted client changes nothing.
        r = await c.get("/health/live", headers={"X-Forwarded-Proto": "https"})
        assert "Strict-Transport-Security" not in r.headers
    proxied = settings.model_copy(update={"trusted_proxies": "203.0.113.0/24"})
    async with app_client(proxied, peer="203.0.113.7") as c:
        r = await c.get("/health/live", headers={"X-Forwarded-Proto": "https"})
        assert r.headers["Strict-Transport-Security"].startswith("max-age=")


async def test_cors_only_for_listed_origins(stack: Settings) -> None:
    preflight = {"Access-Control-Request-Method": "GET"}
    async with app_client(get_settings()) as c:  # default: no cross-origin access at all
        r = await c.get("/health/live", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in r.headers
    listed = get_settings().model_copy(update={"cors_origins": "https://pits.example"})
    async with app_client(listed) as c:
        r = await c.options("/sessions", headers={"Origin": "https://pits.example", **preflight})
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "https://pits.example"
        assert "Authorization" in r.headers["access-control-allow-headers"]
        r = await c.options("/sessions", headers={"Origin": "https://evil.example", **preflight})
        assert r.status_code == 400 and "access-control-allow-origin" not in r.headers
        r = await c.get("/health/live", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in r.headers


async def test_rate_limits_per_user_and_per_address(stack: Settings, redis_mode: str) -> None:
    tight = get_settings().model_copy(update={"rate_limit_user": 2, "rate_limit_ip": 1000})
    url = "/predictions/safety-car?circuit=bahrain&laps_remaining=10"
    async with app_client(tight, **{"X-Forwarded-For": "198.51.100.1"}) as c:
        _, pair = await signed_in(c)
        codes = [(await c.get(url, headers=bearer(pair))).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        r = await c.get(url, headers=bearer(pair))
        assert 1 <= int(r.headers["Retry-After"]) <= 61 and "per user" in r.json()["detail"]
        assert (await c.get(url)).status_code == 200  # the address has room left
    per_ip = get_settings().model_copy(update={"rate_limit_ip": 2})
    peer = f"192.0.2.{uuid.uuid4().int % 250 + 1}"  # a bucket of its own
    async with app_client(per_ip, peer=peer) as c:
        # A new X-Forwarded-For each time changes nothing: the peer is no trusted proxy.
        codes = [
            (await c.get(url, headers={"X-Forwarded-For": f"10.0.0.{i}"})).status_code
            for i in range(3)
        ]
        assert codes == [200, 200, 429]
        assert "per address" in (await c.get(url)).json()["detail"]


def test_pitwall_users_add_creates_an_admin_who_can_sign_in(stack: Settings) -> None:
    username = name("cli")
    run = subprocess.run(
        [sys.executable, "-m", "pitwall.cli", "users", "add", username, "--password-stdin"],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    with psycopg.connect(stack.require_database) as conn:
        role = conn.execute("SELECT role FROM users WHERE username = %s", (username,)).fetchone()
    assert role == ("admin",)
    again = subprocess.run(
        [sys.executable, "-m", "pitwall.cli", "users", "add", username, "--password-stdin"],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 1 and "already exists" in again.stdout + again.stderr


def test_websocket_needs_a_token_when_reads_need_a_user(stack: Settings) -> None:
    """Query token, first-message token or API key header: each gets the snapshot; none, or a
    forged one, is closed with 4401."""
    from starlette.testclient import TestClient
    from starlette.websockets import WebSocketDisconnect

    settings = get_settings().model_copy(update={"auth_reads": True})
    app = create_app(settings)
    url = "/ws/sessions/2023-monaco-R"
    with TestClient(app) as c:
        username = name("ws")
        body = {"username": username, "password": PASSWORD}
        assert c.post("/api/v1/auth/register", json=body).status_code == 201
        token = c.post("/api/v1/auth/login", json=body).json()["access_token"]

        with c.websocket_connect(f"{url}?token={token}") as ws:
            assert ws.receive_json()["type"] == "snapshot"
        with c.websocket_connect(url) as ws:
            ws.send_json({"type": "auth", "token": token})
            assert ws.receive_json()["type"] == "snapshot"
        with c.websocket_connect(url, headers={"X-API-Key": settings.api_key}) as ws:
            assert ws.receive_json()["type"] == "snapshot"
        for attempt in (f"{url}?token=forged.{token[7:]}", url):
            with c.websocket_connect(attempt) as ws:
                if attempt == url:
                    ws.send_json({"type": "hello"})
                with pytest.raises(WebSocketDisconnect) as closed:
                    ws.receive_json()
            assert closed.value.code == 4401


ADMIN_WRITES = [
    ("/admin/models/reload", None),
    ("/admin/replays", {"year": 2023, "event": "Monaco", "session_key": "2023-halfvalid-R"}),
    ("/api/v1/auth/keys", {"name": "half-valid", "role": "admin"}),
]
BAD_AUTHORIZATION = [
    "Bearer not-a-token",
    "Bearer",
    "Bearer   ",
    "Basic YWRtaW46YWRtaW4=",
    "Token abc",
    "",
]


@pytest.mark.parametrize(("path", "body"), ADMIN_WRITES, ids=[p for p, _ in ADMIN_WRITES])
async def test_a_valid_key_with_an_invalid_bearer_is_refused(
    stack: Settings, redis_mode: str, path: str, body: dict | None
) -> None:
    """Every credential sent must be valid: a valid admin key does not carry an invalid
    Authorization (of any form), nor a valid token an empty X-API-Key."""
    since = last_audit_id(stack)
    async with app_client(get_settings()) as c:
        key = {"X-API-Key": stack.api_key}
        for authorization in BAD_AUTHORIZATION:
            r = await c.post(path, json=body, headers={**key, "Authorization": authorization})
            assert r.status_code == 401, (authorization, r.status_code, r.text)
        admin = make_admin(stack)
        r = await c.post("/api/v1/auth/login", json={"username": admin, "password": PASSWORD})
        r = await c.post(path, json=body, headers={**bearer(r.json()), "X-API-Key": ""})
        assert r.status_code == 401, r.text
        r = await c.get("/api/v1/auth/keys", headers=key)  # the key alone is an admin's
        assert r.status_code == 200, r.text
    assert ("api_key.create", "ok") not in audit_events(stack, since)


async def test_failed_sign_ins_are_throttled_per_user_with_backoff(
    stack: Settings, redis_mode: str
) -> None:
    from api.auth import throttle

    async with app_client(get_settings()) as c:
        username, _ = await signed_in(c)
    since = last_audit_id(stack)
    wrong = {"username": username, "password": "wrong password!"}
    right = {"username": username, "password": PASSWORD}
    for _ in range(throttle.FREE_USER):  # each from an address of its own
        async with app_client(get_settings()) as c:
            assert (await c.post("/api/v1/auth/login", json=wrong)).status_code == 401
    async with app_client(get_settings()) as c:
        r = await c.post("/api/v1/auth/login", json=wrong)  # one too many: blocked 1 s
        assert r.status_code == 401
        r = await c.post("/api/v1/auth/login", json=right)  # even the right password waits
        assert r.status_code == 429 and "for this user" in r.json()["detail"], r.text
        assert 1 <= int(r.headers["Retry-After"]) <= 2
        first = blocked_for(stack, "user", username)
        await asyncio.sleep(first + 0.2)
        assert (await c.post("/api/v1/auth/login", json=wrong)).status_code == 401
        assert blocked_for(stack, "user", username) == pytest.approx(2 * first, abs=0.5)
        await asyncio.sleep(2 * first + 0.2)
        assert (await c.post("/api/v1/auth/login", json=right)).status_code == 200
        assert blocked_for(stack, "user", username) is None  # a success starts over
    events = audit_events(stack, since)
    assert events.count(("login", "denied")) == throttle.FREE_USER + 2
    assert ("login.throttled", "denied") in events and events[-1] == ("login", "ok")


async def test_failed_sign_ins_are_throttled_per_address(stack: Settings, redis_mode: str) -> None:
    from api.auth import throttle

    peer = f"2001:db8:ffff::{uuid.uuid4().hex[:4]}"
    async with app_client(get_settings(), peer=peer) as c:
        for i in range(throttle.FREE_ADDRESS + 1):  # a new name each time: only the address
            r = await c.post(
                "/api/v1/auth/login", json={"username": name(f"guess{i}"), "password": "x" * 12}
            )
            assert r.status_code == 401, (i, r.text)
        r = await c.post("/api/v1/auth/login", json={"username": name("g"), "password": "x" * 12})
        assert r.status_code == 429 and "for this address" in r.json()["detail"]
    async with app_client(get_settings()) as other:  # another address is not blocked
        _, pair = await signed_in(other)
        assert pair["access_token"]


async def test_the_auth_endpoints_have_a_tighter_limit_per_address(
    stack: Settings, redis_mode: str
) -> None:
    tight = get_settings().model_copy(update={"rate_limit_auth": 3, "rate_limit_ip": 1000})
    async with app_client(tight) as c:
        codes = []
        for _ in range(4):
            r = await c.post("/api/v1/auth/refresh", json={"refresh_token": "x" * 20})
            codes.append(r.status_code)
        assert codes == [401, 401, 401, 429]
        assert "auth endpoints" in r.json()["detail"] and int(r.headers["Retry-After"]) >= 1
        assert (await c.get(READ)).status_code == 200  # other endpoints have room


def blocked_for(settings: Settings, scope: str, subject: str) -> float | None:
    """Seconds the count of ``subject`` was last blocked for (None: not blocked)."""
    with psycopg.connect(settings.require_database) as conn:
        row = conn.execute(
            "SELECT extract(epoch FROM blocked_until - last_failure_at) FROM login_failures "
            "WHERE scope = %s AND subject = %s",
            (scope, subject.casefold()),
        ).fetchone()
    return float(row[0]) if row and row[0] is not None else None
