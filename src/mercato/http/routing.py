"""Routers whose handlers' dict results are encoded straight to JSON.

Resources render JSON-native values already (strings, numbers, lists, dicts). FastAPI would still
validate each body against the handler's ``dict`` return annotation and walk it with
``jsonable_encoder``, work with one possible outcome here. Routes of these routers hand FastAPI
a finished ``Response`` instead, as FastAPI lets any handler do; the return annotation still
documents the route in OpenAPI.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import fastapi
import orjson
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.responses import Response

from mercato.query.values import iso


def _fallback(value: Any) -> Any:
    """Values orjson does not know: models, exact decimals and datetimes, as the API renders them."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return iso(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content, default=_fallback)
        except TypeError:  # e.g. an integer beyond 64 bits, which orjson refuses
            return json.dumps(content, default=_fallback, separators=(",", ":")).encode()


def _encode_directly(endpoint: Callable[..., Any], status_code: int | None) -> Callable[..., Any]:
    """``endpoint`` returning a :class:`JSONResponse` of its result (a response passes through).
    ``functools.wraps`` keeps the signature FastAPI reads parameters and the return type from."""
    if getattr(endpoint, "encodes_json", False):  # already wrapped (a route declared again)
        return endpoint
    status = status_code or 200

    @functools.wraps(endpoint)
    async def handler(*args: Any, **kwargs: Any) -> Any:
        result = await endpoint(*args, **kwargs)
        return result if isinstance(result, Response) else JSONResponse(result, status)

    handler.encodes_json = True  # type: ignore[attr-defined]
    return handler


class JSONRoute(APIRoute):
    """A route whose handler's result is sent as JSON as it is (a custom ``route_class``)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, _encode_directly(endpoint, kwargs.get("status_code")), **kwargs)


class APIRouter(fastapi.APIRouter):
    """``fastapi.APIRouter`` whose routes are :class:`JSONRoute` unless told otherwise."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("route_class", JSONRoute)
        super().__init__(*args, **kwargs)
