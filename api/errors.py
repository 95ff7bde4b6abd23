"""One error model for every 4xx and 5xx the API sends, and the OpenAPI that says so.

Every error answers ``ErrorBody``: ``{"detail": "<what was wrong>"}``, plus ``errors`` (the
fields at fault) for a 422. FastAPI's own shapes are replaced: its 422 list body becomes
``ErrorBody`` (and is declared so, instead of ``HTTPValidationError``), and a body that is not
JSON at all answers 400, not 422. :func:`install` adds the handlers and documents on every
operation the answers any of them can give: 400 (unparseable body), 401 (credentials missing
or wrong), 403 (role or registration), 404 (on reads: an unknown session, race, key...), 422
(a value outside the declared constraints, or a rule between fields that OpenAPI cannot state),
429 (rate limit, with ``Retry-After``) and 503 (PostgreSQL, Redis or Kafka unavailable).
:func:`responses` declares others per route.

The services report what went wrong with domain errors (``api.services.errors``,
``analytics.errors``); ``DOMAIN_STATUS`` is the one table of their HTTP status codes.
"""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from analytics.errors import NotInSession
from api.services.errors import Invalid, NotFound, Unavailable
from strategy.artifacts import ModelsMissingError


class FieldError(BaseModel):
    """One field at fault in a request."""

    loc: list[str | int] = Field(description="Where: body/query/path/header, then the field.")
    msg: str
    type: str


class ErrorBody(BaseModel):
    """Every error response."""

    detail: str = Field(description="What was wrong, in words.")
    errors: list[FieldError] | None = Field(
        default=None, description="The fields at fault (422 only)."
    )


DESCRIPTIONS = {
    400: "The request body is not valid JSON.",
    401: "Credentials missing, or wrong (forged, expired or revoked token; unknown key).",
    403: "Credentials valid, but not allowed (role; closed registration).",
    404: "Not found.",
    409: "Conflict.",
    422: "A value outside the declared constraints, or a rule between fields.",
    429: "Rate limit exceeded; Retry-After says when to try again.",
    503: "A backing service (PostgreSQL, Redis, Kafka) is unavailable or not configured.",
}
COMMON = (400, 401, 403, 422, 429, 503)
#: The HTTP status of each domain error; the error's message is the ``detail``.
DOMAIN_STATUS: dict[type[Exception], int] = {
    ModelsMissingError: 503,  # no trained race model: the message names `pitwall train`
    NotFound: 404,
    NotInSession: 404,
    Invalid: 422,
    Unavailable: 503,
}


def status_of(exc: Exception) -> int:
    """The HTTP status of a domain error (of its nearest class in ``DOMAIN_STATUS``)."""
    for cls in type(exc).__mro__:
        if cls in DOMAIN_STATUS:
            return DOMAIN_STATUS[cls]
    return 500


def responses(*codes: int, **described: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route: each code answering ``ErrorBody``."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        out[code] = {"model": ErrorBody, "description": DESCRIPTIONS.get(code, "Error.")}
    for code, text in described.items():
        out[int(code.lstrip("_"))] = {"model": ErrorBody, "description": text}
    return out


def error(status: int, detail: str, headers: dict[str, str] | None = None, **extra) -> JSONResponse:
    body = {"detail": detail, **{k: v for k, v in extra.items() if v is not None}}
    return JSONResponse(body, status_code=status, headers=headers)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        out.append(
            {
                "loc": [p if isinstance(p, int) else str(p) for p in err.get("loc", ())],
                "msg": str(err.get("msg", "")),
                "type": str(err.get("type", "")),
            }
        )
    return out


def _message(errors: list[dict[str, Any]]) -> str:
    parts = []
    for err in errors:
        where = ".".join(str(p) for p in err["loc"] if p not in ("body", "query", "path"))
        parts.append(f"{where}: {err['msg']}" if where else err["msg"])
    return "; ".join(parts)[:2000]


def install(app: FastAPI, public: set[tuple[str, str]] | None = None) -> None:
    """Exception handlers answering ``ErrorBody``, and the OpenAPI documenting them.

    ``public``: (path, method) of operations anyone may call; their credentials are declared
    optional (an empty security requirement beside the schemes)."""

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _field_errors(exc)
        if any(e["type"] == "json_invalid" for e in errors):
            return error(400, "the request body is not valid JSON")
        return error(422, _message(errors), errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:  # Starlette names only the first route's methods
            headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(app, request))}
        return error(exc.status_code, detail, headers=headers)

    async def domain_error(request: Request, exc: Exception) -> JSONResponse:
        return error(status_of(exc), str(exc))

    for cls in DOMAIN_STATUS:
        app.add_exception_handler(cls, domain_error)

    @app.exception_handler(psycopg.errors.UndefinedTable)
    async def no_schema(request: Request, exc: Exception) -> JSONResponse:
        return error(503, "the database has no pitwall tables yet: start the sink (`pitwall sink`)")

    @app.exception_handler(psycopg.OperationalError)
    async def db_down(request: Request, exc: Exception) -> JSONResponse:
        return error(503, f"database unavailable: {exc}"[:300])

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        document(schema, public or set())
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def allowed_methods(app: FastAPI, request: Request) -> list[str]:
    """Every method some route of the app answers at this request's path."""
    from starlette.routing import Match

    methods: set[str] = set()
    for route in app.router.routes:
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def document(schema: dict[str, Any], public: set[tuple[str, str]]) -> None:
    """Every operation answers ``ErrorBody`` for the common codes (and 404 on reads); the
    credentials of ``public`` operations are optional."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    components["ErrorBody"] = ErrorBody.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    defs = components["ErrorBody"].pop("$defs", {})
    components.update(defs)
    ref = {"$ref": "#/components/schemas/ErrorBody"}
    for path, item in schema.get("paths", {}).items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            if (path, method) in public and op.get("security"):
                op["security"] = [{}, *op["security"]]
            codes = list(COMMON)
            if method == "get" or "{" in path:
                codes.append(404)
            answers = op.setdefault("responses", {})
            for code in codes:
                answers.setdefault(str(code), {"description": DESCRIPTIONS[code]})
            for code, answer in answers.items():
                if code.startswith(("4", "5")):
                    declared = answer.get("content", {}).get("application/json", {})
                    own = declared.get("schema", {}).get("$ref", "")
                    if not own or own.endswith("/HTTPValidationError"):
                        answer["content"] = {"application/json": {"schema": ref}}
                    answer.setdefault("description", DESCRIPTIONS.get(int(code), "Error."))
                    if code == "429":
                        answer["headers"] = {
                            "Retry-After": {
                                "description": "Seconds until the next window.",
                                "schema": {"type": "integer"},
                            }
                        }
