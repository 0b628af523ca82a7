"""Closing each request's database session after the request, whatever happened."""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

_OPENED = "mercato.sessions"


def opened(scope: Scope) -> list[Any]:
    """The sessions opened for this request (``deps.request_session`` adds to it)."""
    sessions: list[Any] = scope[_OPENED]
    return sessions


class CloseSessions:
    """ASGI middleware: gives each HTTP request a list for the sessions it opens and closes them
    when the request is done — after the response, or after an error (a session that did not
    commit rolls back). It runs outside the exception handlers, so they see the session still
    open, as a handler does."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sessions: list[Any] = []
        scope[_OPENED] = sessions
        try:
            await self.app(scope, receive, send)
        finally:
            for session in sessions:
                await session.close()
