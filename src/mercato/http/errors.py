"""Exception handlers: every failure leaves as ``{type, message, code?}``, never internals."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from asyncpg import PostgresError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from mercato.domain.errors import DomainError
from mercato.domain.money import MoneyError
from mercato.errors import MercatoError

log = logging.getLogger("mercato.http")
# character_not_in_repertoire (NUL in text), untranslatable_character (\u0000 in JSON)
UNSTORABLE_TEXT = frozenset({"22021", "22P05"})


def _field_name(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def validation_message(errors: Sequence[Mapping[str, Any]]) -> str:
    extra = [_field_name(e["loc"]) for e in errors if e["type"] == "extra_forbidden"]
    if extra:
        return f"Invalid request: Unrecognized fields: {', '.join(repr(f) for f in extra)}"
    first = errors[0]
    if first["type"] == "json_invalid":
        return "Invalid request: the body is not valid JSON"
    if first["type"] == "missing" and tuple(first["loc"]) == ("body",):
        return "Invalid request: a JSON body is required"
    message = first["msg"].removeprefix("Value error, ")
    return f"Invalid request: {_field_name(first['loc'])}: {message}"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(MercatoError)
    async def mercato_error(_: Request, exc: MercatoError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status_code)

    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        error = MercatoError(exc.type, exc.message, code=exc.code)
        return JSONResponse(error.body(), status_code=error.status_code)

    @app.exception_handler(MoneyError)
    async def money_error(_: Request, exc: MoneyError) -> JSONResponse:
        return JSONResponse({"type": "invalid_data", "message": str(exc)}, status_code=400)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            {"type": "invalid_data", "message": validation_message(list(exc.errors()))},
            status_code=400,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            body = {"type": "not_found", "message": f"Route {request.url.path} was not found"}
        elif exc.status_code == 405:
            body = {"type": "not_allowed", "message": f"Method {request.method} is not allowed"}
        else:
            body = {"type": "invalid_data", "message": str(exc.detail)}
        # e.g. the ``Allow`` header a 405 must carry
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(DBAPIError)
    @app.exception_handler(PostgresError)  # statements the driver runs itself (query.driver)
    async def database_error(request: Request, exc: DBAPIError | PostgresError) -> JSONResponse:
        # Text PostgreSQL cannot store (NUL characters, e.g. in a path id) is bad input, not a 500.
        error = exc.orig if isinstance(exc, DBAPIError) else exc
        if getattr(error, "sqlstate", None) in UNSTORABLE_TEXT:
            return JSONResponse(
                {"type": "invalid_data", "message": "Invalid request: text must not contain NUL"},
                status_code=400,
            )
        return await unexpected(request, exc)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        log.exception(
            "unhandled error (request %s %s %s)", request_id, request.method, request.url.path
        )
        return JSONResponse(
            {"type": "unknown_error", "message": "An unknown error occurred."},
            status_code=500,
            headers={"x-request-id": request_id},
        )
