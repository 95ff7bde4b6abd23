"""Users, tokens, API keys and the audit log of the API.

- :mod:`api.auth.security`: password hashing (pwdlib, argon2) and JWTs (PyJWT, HS256):
  60-minute access tokens and refresh tokens each usable once;
- :mod:`api.auth.store`: the PostgreSQL rows (``consumers.db_schema.AUTH_DDL``);
- :mod:`api.auth.deps`: who is calling (:class:`Principal`) and the FastAPI dependencies
  that require a user or an admin;
- :mod:`api.auth.router`: ``/api/v1/auth`` (register, login, refresh, logout, me; API keys
  and the audit log for admins).
"""

from api.auth.deps import (
    Principal,
    optional_principal,
    require_admin,
    require_reader,
    require_user,
)

__all__ = ["Principal", "optional_principal", "require_admin", "require_reader", "require_user"]
