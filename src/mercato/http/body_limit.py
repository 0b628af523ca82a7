"""The request-body limit (api-conventions.md, "Request validation"): a body larger than
``MERCATO_MAX_BODY_BYTES`` is answered 413 before anything reads, parses or stores it."""

from __future__ import annotations

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mercato.errors import MercatoError


def too_large(max_bytes: int) -> MercatoError:
    return MercatoError("payload_too_large", f"Request body exceeds {max_bytes} bytes")


class LimitRequestBody:
    """ASGI middleware. A declared ``Content-Length`` above the limit is refused at once (the
    server delivers no more than a request declares). A chunked body (``Transfer-Encoding``) is
    read here, counting, and refused as soon as it passes the limit; one that stays within it
    is handed on to the app as it arrived. Either way at most ``max_bytes`` of a body are ever
    held. A request with neither header has no body (HTTP/1.1) and passes untouched."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length, chunked = _framing(scope)
        if length is not None and length > self.max_bytes:
            await self._refuse(send)
            return
        if length is not None or not chunked:
            await self.app(scope, receive, send)
            return
        buffered: list[Message] = []
        size = 0
        while True:
            message = await receive()
            buffered.append(message)
            if message["type"] != "http.request":  # the client went away
                break
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._refuse(send)
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(buffered, receive), send)

    async def _refuse(self, send: Send) -> None:
        error = too_large(self.max_bytes)
        body = orjson.dumps(error.body())
        await send(
            {
                "type": "http.response.start",
                "status": error.status_code,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _framing(scope: Scope) -> tuple[int | None, bool]:
    """The declared ``Content-Length`` (``None`` when absent) and whether the body is chunked."""
    length, chunked = None, False
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit():
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = True
    return length, chunked


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that gives the buffered messages first, then the server's own."""
    pending = iter(messages)

    async def replay() -> Message:
        message = next(pending, None)
        return message if message is not None else await receive()

    return replay
