"""Every route of the app, each as FastAPI resolves it (full path, the audience's dependencies).

``include_router`` keeps each included router as one node of ``app.routes`` (FastAPI 0.137+);
``fastapi.routing.iter_route_contexts`` expands such nodes into one context per route with its
effective path, methods, dependencies and ``matches``. Other containers of routes (anything
with a ``routes`` list that is not a mount) are walked first, so the OpenAPI schema and the
``Allow`` header see the same routes the router dispatches to.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from starlette.routing import BaseRoute, Mount


def route_contexts(routes: Sequence[BaseRoute]) -> list[RouteContext]:
    """Every route below ``routes``, in dispatch order."""
    return list(iter_route_contexts(list(_leaves(routes))))


def api_routes(routes: Sequence[BaseRoute]) -> list[RouteContext]:
    """The FastAPI path operations below ``routes``."""
    return [ctx for ctx in route_contexts(routes) if isinstance(ctx.original_route, APIRoute)]


def _leaves(routes: Sequence[BaseRoute]) -> Iterator[BaseRoute]:
    for route in routes:
        children = getattr(route, "routes", None)
        if isinstance(children, list) and not isinstance(route, Mount):
            yield from _leaves(children)
        else:
            yield route
