"""Every route of the app, each as FastAPI resolved it when it was included (full path, the
audience's dependencies merged into its own).

FastAPI is pinned below 0.137 (pyproject.toml), whose ``include_router`` copies each included
route into ``app.routes`` with its effective path and dependencies, so the app's route list is
flat. Containers of routes other than mounts are still walked, so the OpenAPI schema and the
``Allow`` header see the routes the router dispatches to.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Mount


def route_contexts(routes: Sequence[BaseRoute]) -> list[BaseRoute]:
    """Every route below ``routes``, in dispatch order."""
    return list(_leaves(routes))


def api_routes(routes: Sequence[BaseRoute]) -> list[APIRoute]:
    """The FastAPI path operations below ``routes``."""
    return [route for route in _leaves(routes) if isinstance(route, APIRoute)]


def _leaves(routes: Sequence[BaseRoute]) -> Iterator[BaseRoute]:
    for route in routes:
        children = getattr(route, "routes", None)
        if isinstance(children, list) and not isinstance(route, Mount):
            yield from _leaves(children)
        else:
            yield route
