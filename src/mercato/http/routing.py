"""Routers whose handlers' dict results are encoded straight to JSON, and which turn away
paths none of their routes can match.

Views render JSON-native values already (strings, numbers, lists, dicts). FastAPI would still
validate each body against the handler's ``dict`` return annotation and walk it with
``jsonable_encoder`` — about a quarter of the time of a large list (docs/benchmarks.md). Routes
of this router hand FastAPI a finished ``Response`` instead; the annotation still documents the
route in OpenAPI.

FastAPI tries an included router by matching the request against each of its routes' patterns,
twice per request; with a dozen feature routers per audience that was a fifth of the CPU of a
small list request. A router here first compares the path with the literal beginnings of its
routes' paths (``/admin/order-groups`` of ``/admin/order-groups/{group_id}``) and answers "no
match" at once when none fits — exactly when no pattern could match.
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
from starlette.routing import Match
from starlette.types import Scope

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


def _encode_directly(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(endpoint)
    async def handler(*args: Any, **kwargs: Any) -> Any:
        result = await endpoint(*args, **kwargs)
        return result if isinstance(result, Response) else JSONResponse(result)

    return handler


class JSONRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, _encode_directly(endpoint), **kwargs)


def route_path(scope: Scope) -> str:
    """The path routes are matched against: the request path below the app's ``root_path``."""
    path, root = scope.get("path", ""), scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


class APIRouter(fastapi.APIRouter):
    """``fastapi.APIRouter`` with :class:`JSONRoute` routes and a literal-prefix gate."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("route_class", JSONRoute)
        super().__init__(*args, **kwargs)
        self._gate: tuple[int, tuple[str, ...]] = (-1, ())

    def _literal_prefixes(self) -> tuple[str, ...]:
        count, prefixes = self._gate
        if count != len(self.routes):  # routes are added before serving; recomputed if not
            paths = [getattr(route, "path", "") for route in self.routes]
            prefixes = tuple({path.split("{", 1)[0] for path in paths})
            self._gate = (len(self.routes), prefixes)
        return prefixes

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if not route_path(scope).startswith(self._literal_prefixes()):
            return Match.NONE, {}
        return super().matches(scope)
