"""Request handlers that call a route's dependencies directly, for routes simple enough.

Most read routes take nothing from the request but the request itself: the audience's
dependency (``admin``, ``store``, ...), the session, the parsed query string and plain string
path parameters — each dependency an ``async`` function of the request or of other such
dependencies. For those FastAPI's per-request dependency solving (cache keys, scopes, parameter
extraction, response checks) cost 18 % of the CPU of a small list (docs/benchmarks.md), work
that has one possible outcome here. :func:`direct_handler` resolves the same dependencies in the
same order, each once per request as FastAPI's cache would, and calls the endpoint.

Anything else keeps FastAPI's own handler: a route with a body, query, header or cookie
parameters, a typed or constrained path parameter, a generator, ``def`` or uncached dependency,
security scopes or special parameters (response, background tasks, ...). So does every request
while the app has dependency overrides, or while FastAPI's native telemetry records it (its
handler traces the dependency and endpoint steps).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

Handler = Callable[[Request], Awaitable[Response]]
Resolver = Callable[[Request, dict[Any, Any]], Awaitable[Any]]

# Parameters a dependant may declare that need more than the request.
_SPECIAL = (
    "websocket_param_name",
    "http_connection_param_name",
    "response_param_name",
    "background_tasks_param_name",
    "security_scopes_param_name",
)
_SCOPED = ("security_requirements", "own_oauth_scopes", "parent_oauth_scopes", "security_scopes")


def direct_handler(route: APIRoute, fallback: Handler) -> Handler | None:
    """A handler for ``route`` that resolves its dependencies directly, or None if the route
    needs FastAPI's solver; ``fallback`` (FastAPI's handler) serves the requests it must."""
    dependant = route.dependant
    endpoint = dependant.call
    if not _takes_only_request_inputs(dependant, path_params_allowed=True):
        return None
    if not inspect.iscoroutinefunction(endpoint):
        return None
    path_names = [field.name for field in dependant.path_params]
    if not all(_is_plain_string(field) for field in dependant.path_params):
        return None
    steps: list[tuple[str | None, Resolver]] = []
    for sub in dependant.dependencies:
        resolver = _resolver(sub)
        if resolver is None:
            return None
        steps.append((sub.name, resolver))
    request_name = dependant.request_param_name
    provider = route.dependency_overrides_provider

    async def handler(request: Request) -> Response:
        if request.scope.get("fastapi.telemetry") is not None or (
            provider is not None and getattr(provider, "dependency_overrides", None)
        ):
            return await fallback(request)
        cache: dict[Any, Any] = {}
        arguments: dict[str, Any] = {}
        for name, resolve in steps:
            value = await resolve(request, cache)
            if name is not None:
                arguments[name] = value
        if path_names:
            path_params = request.path_params
            for name in path_names:
                arguments[name] = path_params[name]
        if request_name is not None:
            arguments[request_name] = request
        return await endpoint(**arguments)  # type: ignore[misc]

    return handler


def _resolver(dependant: Dependant) -> Resolver | None:
    """Resolves a dependency whose inputs are the request and other such dependencies, once
    per request (``cache`` is the request's, keyed by the dependency's callable)."""
    call = dependant.call
    if (
        call is None
        or not inspect.iscoroutinefunction(call)  # also turns away async generators
        or not dependant.use_cache
        or not _takes_only_request_inputs(dependant, path_params_allowed=False)
    ):
        return None
    subs: list[tuple[str, Resolver]] = []
    for sub in dependant.dependencies:
        resolver = _resolver(sub)
        if resolver is None or sub.name is None:
            return None
        subs.append((sub.name, resolver))
    request_name = dependant.request_param_name

    async def resolve(request: Request, cache: dict[Any, Any]) -> Any:
        if call in cache:
            return cache[call]
        arguments = {name: await resolve_sub(request, cache) for name, resolve_sub in subs}
        if request_name is not None:
            arguments[request_name] = request
        value = cache[call] = await call(**arguments)
        return value

    return resolve


def _takes_only_request_inputs(dependant: Dependant, *, path_params_allowed: bool) -> bool:
    if dependant.query_params or dependant.header_params or dependant.cookie_params:
        return False
    if dependant.body_params or (dependant.path_params and not path_params_allowed):
        return False
    if any(getattr(dependant, name, None) is not None for name in _SPECIAL):
        return False
    return not any(getattr(dependant, name, None) for name in _SCOPED)


def _is_plain_string(field: Any) -> bool:
    """A path parameter FastAPI would pass through unchanged: ``str``, no alias, no checks."""
    info = getattr(field, "field_info", None)
    return (
        info is not None
        and info.annotation is str
        and not info.metadata
        and getattr(field, "alias", field.name) == field.name
    )
