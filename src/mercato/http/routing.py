"""Routers whose handlers' dict results are encoded straight to JSON, and the table that
dispatches every request to its route.

Views render JSON-native values already (strings, numbers, lists, dicts). FastAPI would still
validate each body against the handler's ``dict`` return annotation and walk it with
``jsonable_encoder`` — about a quarter of the time of a large list (docs/benchmarks.md). Routes
of this router hand FastAPI a finished ``Response`` instead; the annotation still documents the
route in OpenAPI.

Feature routers are not included in the app: :func:`flatten` declares their routes again,
complete, and one :class:`RouteTable` finds a request's route through an index of path
beginnings (see there for why).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import fastapi
import orjson
from fastapi import params
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.datastructures import URLPath
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

from mercato.http.direct import direct_handler
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

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler, or one that resolves the dependencies directly where the route
        allows it (:mod:`mercato.http.direct`)."""
        fallback = super().get_route_handler()
        return direct_handler(self, fallback) or fallback  # type: ignore[return-value]


def route_path(scope: Scope) -> str:
    """The path routes are matched against: the request path below the app's ``root_path``."""
    path, root = scope.get("path", ""), scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


class APIRouter(fastapi.APIRouter):
    """``fastapi.APIRouter`` with :class:`JSONRoute` routes that remembers how each route was
    declared, so :func:`flatten` can declare it again with an audience's dependencies."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("route_class", JSONRoute)
        super().__init__(*args, **kwargs)
        self.declared: list[tuple[str, Callable[..., Any], dict[str, Any]]] = []

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        self.declared.append((path, endpoint, kwargs))
        super().add_api_route(path, endpoint, **kwargs)


def flatten(
    router: APIRouter, *, dependencies: Sequence[params.Depends], app: fastapi.FastAPI
) -> list[BaseRoute]:
    """``router``'s routes declared again, complete: each with its full path, the given
    dependencies before its own, and ``app``'s dependency overrides — what ``include_router``
    would resolve per request, resolved once."""
    complete = fastapi.APIRouter(
        prefix=router.prefix,
        tags=list(router.tags),
        dependencies=[*dependencies, *router.dependencies],
        responses=dict(router.responses),
        callbacks=list(router.callbacks),
        deprecated=router.deprecated,
        include_in_schema=router.include_in_schema,
        route_class=router.route_class,
        default_response_class=router.default_response_class,
        generate_unique_id_function=router.generate_unique_id_function,
        dependency_overrides_provider=app,
    )
    for path, endpoint, kwargs in router.declared:
        complete.add_api_route(path, endpoint, **kwargs)
    return list(complete.routes)


class RouteTable(BaseRoute):
    """All of the app's routes behind one index of their literal first two path segments.

    A router tries its routes one by one, in order; included routers are tried the same way,
    recursively, and FastAPI resolves their prefixes and dependencies again on every request —
    a fifth of the CPU of a small read (docs/benchmarks.md). Here a request is tried only
    against the routes that can match its beginning (``/admin/order-groups`` of
    ``/admin/order-groups/og_1``), still in declaration order, so the outcome is the routers':
    the first full match wins, else the first path-only match (a 405), else no match (404)."""

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self.routes = list(routes)
        keyed: dict[str, list[BaseRoute]] = {}
        for route in self.routes:
            keyed.setdefault(_index_key(getattr(route, "path", "")), []).append(route)
        anywhere = keyed.pop(_ANY, [])
        # Each key's routes merged with the routes that can match any path, in declared order.
        order = {id(route): n for n, route in enumerate(self.routes)}
        self._index = {
            key: sorted([*routes, *anywhere], key=lambda route: order[id(route)])
            for key, routes in keyed.items()
        }
        self._anywhere = anywhere

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = route_path(scope)
        partial: Scope | None = None
        for route in self._index.get(_request_key(path), self._anywhere):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                return match, {**child_scope, _SELECTED: route}
            if match is Match.PARTIAL and partial is None:
                partial = {**child_scope, _SELECTED: route}
        if partial is not None:
            return Match.PARTIAL, partial
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await scope[_SELECTED].handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        for route in self.routes:
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                continue
        raise NoMatchFound(name, path_params)


_SELECTED = "mercato.route"
_ANY = ""


def _index_key(path: str) -> str:
    """A declared path's first two segments, or ``_ANY`` when a parameter is among them."""
    key = _request_key(path)
    return _ANY if "{" in key else key


def _request_key(path: str) -> str:
    """``/admin/order-groups`` of ``/admin/order-groups/og_1/x``."""
    return "/".join(path.split("/", 3)[:3])
