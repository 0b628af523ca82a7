"""``Idempotency-Key`` on the routes that declare it (api-conventions.md).

A route opts in with a parameter ``key: IdempotencyKey`` (``StoreIdempotencyKey`` on store
routes, whose actor may be a customer). The dependency runs after the audience's, which recorded
who is calling (``request.state.actor``, see ``deps``), and claims the key
(``mercato.idempotency.service``): the request then runs, or a stored response is replayed
(:class:`IdempotentReplay`, rendered with ``Idempotent-Replayed: true``), or the key is refused
(400 reused with another body, 409 still in use). :class:`RecordIdempotentResponses` (ASGI
middleware) records the claimed request's final status and body before the last byte leaves,
or releases the claim on a 5xx, a 409 or an error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Annotated

import anyio
from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mercato.api.deps import OptionalCustomer, unit_of_work
from mercato.idempotency import service
from mercato.idempotency.service import Claim, ClientKey, StoredResponse
from mercato.unit_of_work import UnitOfWork

log = logging.getLogger("mercato.idempotency")

_SLOT = "mercato.idempotency"
REPLAYED_HEADER = "Idempotent-Replayed"

KeyHeader = Annotated[
    str | None,
    Header(
        alias=service.HEADER,
        description="Makes a retry safe: the first response is replayed for 24 h "
        "(1-255 visible ASCII characters).",
    ),
]


@dataclass
class _Slot:
    """What a request claimed; set by the dependency, settled by the middleware."""

    uow: UnitOfWork | None = None  # the claim's; settling runs in a fresh one
    claim: Claim | None = None


class IdempotentReplay(Exception):
    """The key's first response, to send again instead of running the request."""

    def __init__(self, response: StoredResponse) -> None:
        super().__init__("idempotent replay")
        self.response = response


async def _claim(request: Request, key: str | None) -> ClientKey | None:
    if key is None:
        return None
    service.check_key(key)
    actor = getattr(request.state, "actor", None)
    slot = request.scope.get(_SLOT)
    if actor is None or slot is None:
        raise RuntimeError("Idempotency-Key needs an audience dependency and the middleware")
    uow = await unit_of_work(request)
    outcome = await service.claim(
        uow,
        actor=actor,
        method=request.method,
        path=request.url.path,
        key=key,
        body_fingerprint=service.fingerprint(await request.body()),
    )
    if isinstance(outcome, StoredResponse):
        raise IdempotentReplay(outcome)
    slot.uow, slot.claim = uow, outcome
    return ClientKey(actor, key)


async def claim_idempotency_key(request: Request, key: KeyHeader = None) -> ClientKey | None:
    """The route's ``Idempotency-Key`` (None without one), claimed for this request."""
    return await _claim(request, key)


async def claim_store_idempotency_key(
    request: Request, _customer: OptionalCustomer, key: KeyHeader = None
) -> ClientKey | None:
    """As :func:`claim_idempotency_key`, once the customer (the actor, when logged in) is known."""
    return await _claim(request, key)


IdempotencyKey = Annotated[ClientKey | None, Depends(claim_idempotency_key)]
StoreIdempotencyKey = Annotated[ClientKey | None, Depends(claim_store_idempotency_key)]


@dataclass
class _Response:
    status: int = 0
    content_type: str | None = None
    body: list[bytes] = field(default_factory=list)


class RecordIdempotentResponses:
    """ASGI middleware: settles the claim of a request that claimed an ``Idempotency-Key``.

    The response is recorded (or the claim released) before its last body message is sent, so
    a client's immediate retry finds the record. A request that ends without a complete
    response (an unhandled error) releases its claim."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        slot = scope[_SLOT] = _Slot()
        response = _Response()

        async def send_settling(message: Message) -> None:
            if slot.claim is not None:
                if message["type"] == "http.response.start":
                    response.status = message["status"]
                    for name, value in message.get("headers", ()):
                        if name.lower() == b"content-type":
                            response.content_type = value.decode("latin-1")
                elif message["type"] == "http.response.body":
                    response.body.append(message.get("body", b""))
                    if not message.get("more_body", False):
                        await _settle(slot, response)
            await send(message)

        try:
            await self.app(scope, receive, send_settling)
        finally:
            if slot.claim is not None:
                with anyio.CancelScope(shield=True):
                    await _settle(slot, None)


async def _settle(slot: _Slot, response: _Response | None) -> None:
    claim, uow = slot.claim, slot.uow
    slot.claim = None
    assert claim is not None and uow is not None
    try:
        if response is not None and service.is_recorded(response.status):
            await service.finish(
                uow.fresh(),
                claim,
                status=response.status,
                content_type=response.content_type,
                body=b"".join(response.body),
            )
        else:
            await service.release(uow.fresh(), claim)
    except Exception:  # the response stands; the claim lapses with its lease
        log.exception("could not settle Idempotency-Key claim %s", claim.record_id)


async def _replay(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, IdempotentReplay)
    stored = exc.response
    headers = {REPLAYED_HEADER: "true"}
    if stored.content_type:
        headers["content-type"] = stored.content_type
    return Response(stored.body, status_code=stored.status, headers=headers)


def install(app: FastAPI) -> None:
    """The replay's exception handler and the recording middleware."""
    app.add_exception_handler(IdempotentReplay, _replay)
    app.add_middleware(RecordIdempotentResponses)
