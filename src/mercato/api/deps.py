"""Request dependencies: the database session and who is calling.

Authentication and scoping live here and only here. Routers declare the audience once
(``dependencies=[Depends(admin)]``); handlers receive the resolved context.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Annotated, Self

from fastapi import Depends, Request
from sqlalchemy import String, and_, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.api_keys.models import ApiKey, ApiKeySalesChannel
from mercato.api_keys.tokens import digest
from mercato.auth.tokens import TokenClaims, read_token
from mercato.customers.models import Customer
from mercato.errors import MercatoError, invalid, not_allowed, unauthorized
from mercato.http.sessions import opened
from mercato.payments.providers import PaymentProviderPort, ProviderFactory, get_provider
from mercato.query.driver import FixedQuery, model_columns, row_type, rows_of
from mercato.query.qs import parse_query
from mercato.sellers.models import Seller, SellerMember
from mercato.unit_of_work import UnitOfWork
from mercato.users.models import User

MISSING_KEY = (
    "Publishable API key required in the request header: x-publishable-api-key. "
    "You can manage your keys in settings in the dashboard."
)
INVALID_KEY = "A valid publishable key is required to proceed with the request"


_SESSION = "mercato.session"


def request_session(request: Request) -> AsyncSession:
    """The request's session: a read-only autocommit one, opened on first use. Every request
    reads with it (the caller's authentication, the rendering of a result); a command writes
    through its own unit of work (:func:`unit_of_work`), never through this session. :class:`~mercato.http.sessions.CloseSessions` closes it once
    the request is done.

    The audience dependencies (``admin``, ``store``, ...) call this directly instead of declaring
    ``Session``: FastAPI solves a declared sub-dependency again for each dependant that names it
    before consulting its cache, a cost every request paid twice."""
    scope = request.scope
    session = scope.get(_SESSION)
    if session is None:
        session = scope[_SESSION] = request.app.state.read_sessionmaker()
        opened(scope).append(session)
    return session


async def get_session(request: Request) -> AsyncSession:
    """The request's session as a dependency (:func:`request_session`).

    A plain function, not a generator dependency: FastAPI enters and exits those through an
    exit stack, which cost more than the rest of the dependency resolution of a small read."""
    return request_session(request)


Session = Annotated[AsyncSession, Depends(get_session)]


class RequestUnitOfWork(UnitOfWork):
    """The unit of work of a request's command. Its transaction runs on a connection of its own,
    so as it opens it gives back the connection the request's session holds (the reads that
    authenticated the caller): a request then holds one pooled connection at a time, and a
    burst of commands cannot take every connection while each waits for a second one. The
    session stays usable for rendering the result (it takes a connection again); what it loaded
    keeps its loaded attributes."""

    def __init__(self, request: Request) -> None:
        super().__init__(request.app.state.sessionmaker)
        self._scope = request.scope

    async def __aenter__(self) -> Self:
        session = self._scope.get(_SESSION)
        if session is not None:
            await session.close()
        return await super().__aenter__()


async def unit_of_work(request: Request) -> UnitOfWork:
    """A unit of work for the request's command: it opens its own transaction (the request's
    session stays for reading the result back). ``async`` so FastAPI does not hand it to its
    thread pool (:func:`query_params`)."""
    return RequestUnitOfWork(request)


UoW = Annotated[UnitOfWork, Depends(unit_of_work)]


async def payment_providers(request: Request) -> ProviderFactory:
    """The payment providers for the request's command, journaling through the app's
    sessionmaker (tests replace this dependency to put a fake provider in). ``async``: no
    thread pool hop."""
    sessionmaker = request.app.state.sessionmaker

    def providers(provider_id: str) -> PaymentProviderPort:
        return get_provider(provider_id, sessionmaker)

    return providers


Providers = Annotated[ProviderFactory, Depends(payment_providers)]


async def query_params(request: Request) -> dict:
    """The query string parsed the way JS clients (``qs``) encode it.

    ``async`` although it never awaits: FastAPI runs plain ``def`` dependencies in a thread
    pool, a hand-off that cost more than the parsing on every request. It reads the raw query
    string: ``request.url`` would first assemble the whole URL."""
    try:
        query = request.scope.get("query_string", b"").decode()
    except UnicodeDecodeError:
        raise invalid("Invalid request: the query string is not UTF-8") from None
    return parse_query(query)


Query = Annotated[dict, Depends(query_params)]


def _bearer(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" and credentials.strip() else None


# Authentication runs on every request: its two lookups are fixed driver statements.
_LIVE_USER = FixedQuery(
    select(User.id).where(User.id == bindparam("id"), User.deleted_at.is_(None))
)
_LIVE_CUSTOMER = FixedQuery(
    rows_of(Customer).where(Customer.id == bindparam("id"), Customer.deleted_at.is_(None))
)
_CUSTOMER_FIELDS = tuple(column.key for column in model_columns(Customer))
# The publishable key with its channels and, in the same statement, the customer a GET's token
# names (NULLs when there is none): store reads need one statement to know who is calling.
_STORE_CALLER = FixedQuery(
    select(
        ApiKey.id,
        func.array_remove(func.array_agg(ApiKeySalesChannel.sales_channel_id), None).label(
            "channels"
        ),
        *(getattr(Customer, name).label(f"customer__{name}") for name in _CUSTOMER_FIELDS),
    )
    .select_from(ApiKey)
    .outerjoin(ApiKeySalesChannel, ApiKeySalesChannel.api_key_id == ApiKey.id)
    .outerjoin(
        Customer,
        and_(
            Customer.id == bindparam("customer_id", type_=String),
            Customer.deleted_at.is_(None),
        ),
    )
    .where(
        ApiKey.token_digest == bindparam("digest"),
        ApiKey.type == "publishable",
        ApiKey.revoked_at.is_(None),
        ApiKey.deleted_at.is_(None),
    )
    .group_by(ApiKey.id, Customer.id)
)
_CUSTOMER_ROW = row_type(_CUSTOMER_FIELDS)


def _calls_as(request: Request, kind: str, actor_id: str) -> None:
    """Record who is calling (``user``, ``api_key``, ``member``, ``customer`` or
    ``publishable_key``): the scope of an ``Idempotency-Key`` (``http.idempotency``)."""
    request.state.actor = f"{kind}:{actor_id}"


@dataclass(frozen=True)
class AdminActor:
    user_id: str | None
    api_key_id: str | None = None


async def admin(request: Request) -> AdminActor:
    session = request_session(request)
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            token = base64.b64decode(credentials.strip(), validate=True).decode().split(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            raise unauthorized() from None
        key = await session.scalar(
            select(ApiKey).where(
                ApiKey.token_digest == digest(token),
                ApiKey.type == "secret",
                ApiKey.revoked_at.is_(None),
                ApiKey.deleted_at.is_(None),
            )
        )
        if key is None:
            raise unauthorized()
        _calls_as(request, "api_key", key.id)
        return AdminActor(user_id=key.created_by, api_key_id=key.id)
    token = _bearer(request)
    if token is None:
        raise unauthorized()
    claims = read_token(token)
    if claims.actor_type != "user" or not claims.actor_id:
        raise unauthorized()
    # Re-checked on every request, so deleting a user revokes its tokens at once.
    if not await _LIVE_USER.rows(session, id=claims.actor_id):
        raise unauthorized()
    _calls_as(request, "user", claims.actor_id)
    return AdminActor(user_id=claims.actor_id)


Admin = Annotated[AdminActor, Depends(admin)]


@dataclass(frozen=True)
class StoreContext:
    api_key_id: str
    sales_channel_ids: tuple[str, ...]


async def store(request: Request) -> StoreContext:
    session = request_session(request)
    token = request.headers.get("x-publishable-api-key")
    if not token:
        raise not_allowed(MISSING_KEY)
    customer_id = _read_customer_id(request)
    rows = await _STORE_CALLER.rows(session, digest=digest(token), customer_id=customer_id)
    if not rows:
        raise not_allowed(INVALID_KEY)
    row = rows[0]
    if customer_id is not None:  # ``optional_customer`` uses it instead of its own look-up
        found = row.customer__id is not None
        customer = _CUSTOMER_ROW._make(row[2:]) if found else None
        request.state.store_customer = (customer_id, customer)
    _calls_as(request, "publishable_key", row.id)
    return StoreContext(api_key_id=row.id, sales_channel_ids=tuple(sorted(row.channels)))


def _read_customer_id(request: Request) -> str | None:
    """The customer a ``GET``'s valid customer token names, else None (never raises: routes
    that take no customer ignore the token; ``optional_customer`` judges it)."""
    if request.method != "GET" or (token := _bearer(request)) is None:
        return None
    try:
        claims = read_token(token)
    except MercatoError:
        return None
    return claims.actor_id if claims.actor_type == "customer" and claims.actor_id else None


Store = Annotated[StoreContext, Depends(store)]


def token_claims(request: Request) -> TokenClaims | None:
    token = _bearer(request)
    return read_token(token) if token else None


async def optional_customer(request: Request) -> Customer | None:
    """The logged-in customer, if a customer token is sent (an invalid token is still a 401)."""
    session = request_session(request)
    claims = token_claims(request)
    if claims is None:
        return None
    if claims.actor_type != "customer" or not claims.actor_id:
        raise unauthorized()
    if request.method == "GET":
        # Reads only look at the customer: a plain row with the same attributes is enough and
        # costs a fraction of an ORM load — usually already fetched with the publishable key.
        looked_up = getattr(request.state, "store_customer", None)
        if looked_up is not None and looked_up[0] == claims.actor_id:
            if looked_up[1] is None:
                raise unauthorized()
            return looked_up[1]
        rows = await _LIVE_CUSTOMER.rows(session, id=claims.actor_id)
        if not rows:
            raise unauthorized()
        return rows[0]
    customer = await session.get(Customer, claims.actor_id)
    if customer is None or customer.deleted_at is not None:
        raise unauthorized()
    _calls_as(request, "customer", customer.id)  # commands only: reads are never idempotent
    return customer


async def customer(current: Annotated[Customer | None, Depends(optional_customer)]) -> Customer:
    if current is None:
        raise unauthorized()
    return current


CurrentCustomer = Annotated[Customer, Depends(customer)]
OptionalCustomer = Annotated[Customer | None, Depends(optional_customer)]


@dataclass(frozen=True)
class VendorContext:
    member_id: str
    seller_id: str


async def vendor(request: Request) -> VendorContext:
    session = request_session(request)
    claims = token_claims(request)
    if claims is None or claims.actor_type != "seller" or not claims.actor_id:
        raise unauthorized()
    member = await session.get(SellerMember, claims.actor_id)
    if member is None or member.deleted_at is not None:
        raise unauthorized()
    seller = await session.get(Seller, member.seller_id)
    if seller is None or seller.deleted_at is not None:
        raise unauthorized()
    _calls_as(request, "member", member.id)
    return VendorContext(member_id=member.id, seller_id=member.seller_id)


Vendor = Annotated[VendorContext, Depends(vendor)]
