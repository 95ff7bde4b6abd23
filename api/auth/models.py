"""Requests and responses of ``/api/v1/auth`` (request bodies refuse unknown fields)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$"
#: Printable characters only (no control characters, NUL included): 10 to 128 of them.
PASSWORD_PATTERN = r"^[^\x00-\x1f\x7f]{10,128}$"
Role = Literal["user", "admin"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Credentials(Strict):
    username: str = Field(pattern=USERNAME_PATTERN, examples=["alice"])
    password: str = Field(
        min_length=10, max_length=128, pattern=PASSWORD_PATTERN, examples=["a long passphrase"]
    )


class RegisterRequest(Credentials):
    """A new account (role ``user``; admins are made by ``pitwall users add`` or an admin)."""


class NewUserRequest(Credentials):
    role: Role = "user"


class RefreshRequest(Strict):
    refresh_token: str = Field(min_length=20, max_length=2000, pattern=r"^[A-Za-z0-9_.-]+$")


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds the access token is valid.")
    refresh_expires_in: int = Field(description="Seconds the refresh token is valid (one use).")


class UserOut(BaseModel):
    user_id: int
    username: str
    role: Role
    created_at: datetime


class Me(BaseModel):
    kind: Literal["user", "api_key", "shared_key"]
    id: str
    name: str
    role: Role


class KeyRequest(Strict):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")
    role: Role = "user"


class KeyOut(BaseModel):
    key_id: int
    prefix: str = Field(description="The key's public part: pw_<prefix>_...")
    name: str
    role: Role
    created_by: str | None = None
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class NewKey(KeyOut):
    key: str = Field(description="The API key. Shown this once: only its digest is stored.")


class AuditEntry(BaseModel):
    audit_id: int
    at: datetime
    event: str
    outcome: str
    actor: str | None = None
    subject: str | None = None
    ip: str | None = None
    request_id: str | None = None
    detail: dict[str, Any] | None = None
