"""``OPTIONS``, ``HEAD`` and a complete ``Allow`` header on every 405.

A router answers 405 with the methods of the first route whose path matched, though other
routes may serve the same path with other methods (``GET`` and ``POST /admin/products``), and
FastAPI path operations answer neither ``OPTIONS`` nor ``HEAD``. This middleware matches the
request's path against every route (``route.matches``) and:

- answers ``OPTIONS`` on an existing path with 204 and the path's complete ``Allow``;
- serves ``HEAD`` where the path has a ``GET`` (the ``GET``'s status and headers, no body);
- replaces the ``Allow`` header of any 405 with the complete one.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mercato.http.route_list import route_contexts


def allowed_methods(routes: Sequence[BaseRoute], scope: Scope) -> set[str]:
    """Every method some route accepts at the scope's path (empty: no route has this path),
    with ``HEAD`` where there is ``GET`` and ``OPTIONS`` for any existing path.

    As in OpenAPI's path matching, a path some route names literally (``/admin/users/me``) is
    that route's, though a templated one (``/admin/users/{user_id}``) matches it too."""
    matching = [
        route
        for route in route_contexts(routes)
        if getattr(route, "methods", None) and route.matches(scope)[0] is not Match.NONE
    ]
    literal = [route for route in matching if "{" not in getattr(route, "path_format", "{")]
    methods = {method for route in literal or matching for method in getattr(route, "methods", ())}
    if "GET" in methods:
        methods.add("HEAD")
    if methods:
        methods.add("OPTIONS")
    return methods


def allow_header(methods: set[str]) -> str:
    return ", ".join(sorted(methods))


class CompleteAllow:
    """ASGI middleware; ``api`` is the application whose routes are consulted."""

    def __init__(self, app: ASGIApp, *, api: FastAPI) -> None:
        self.app = app
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method == "OPTIONS":
            methods = allowed_methods(self.api.routes, scope)
            if methods:
                response = Response(status_code=204, headers={"Allow": allow_header(methods)})
                await response(scope, receive, send)
                return
        elif method == "HEAD" and self._serves_head_as_get(scope):
            await self.app({**scope, "method": "GET"}, receive, _without_body(send))
            return
        await self.app(scope, receive, self._completing_allow(scope, send))

    def _serves_head_as_get(self, scope: Scope) -> bool:
        """The path has a ``GET`` but no route of its own takes ``HEAD``."""
        contexts = [r for r in route_contexts(self.api.routes) if getattr(r, "methods", None)]
        if any(r.matches(scope)[0] is Match.FULL for r in contexts):
            return False
        as_get = {**scope, "method": "GET"}
        return any(r.matches(as_get)[0] is Match.FULL for r in contexts)

    def _completing_allow(self, scope: Scope, send: Send) -> Send:
        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                methods = allowed_methods(self.api.routes, scope)
                if methods:
                    headers = MutableHeaders(scope=message)
                    headers["Allow"] = allow_header(methods)
            await send(message)

        return send_with_allow


def _without_body(send: Send) -> Send:
    async def send_head(message: Message) -> None:
        if message["type"] == "http.response.body":
            message = {**message, "body": b""}
        await send(message)

    return send_head
