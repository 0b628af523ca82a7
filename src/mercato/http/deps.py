"""Request dependencies: the database session and who is calling.

Authentication and scoping live here and only here. Routers declare the audience once
(``dependencies=[Depends(admin)]``); handlers receive the resolved context.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.api_keys.models import ApiKey, ApiKeySalesChannel
from mercato.api_keys.tokens import digest
from mercato.auth.tokens import TokenClaims, read_token
from mercato.customers.models import Customer
from mercato.errors import not_allowed, unauthorized
from mercato.query.qs import parse_query
from mercato.sellers.models import Seller, SellerMember
from mercato.users.models import User

MISSING_KEY = (
    "Publishable API key required in the request header: x-publishable-api-key. "
    "You can manage your keys in settings in the dashboard."
)
INVALID_KEY = "A valid publishable key is required to proceed with the request"


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker() as session:
        yield session


Session = Annotated[AsyncSession, Depends(get_session)]


def query_params(request: Request) -> dict:
    """The query string parsed the way JS clients (``qs``) encode it."""
    return parse_query(request.url.query)


Query = Annotated[dict, Depends(query_params)]


def _bearer(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" and credentials.strip() else None


@dataclass(frozen=True)
class AdminActor:
    user_id: str | None
    api_key_id: str | None = None


async def admin(request: Request, session: Session) -> AdminActor:
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
        return AdminActor(user_id=key.created_by, api_key_id=key.id)
    token = _bearer(request)
    if token is None:
        raise unauthorized()
    claims = read_token(token)
    if claims.actor_type != "user" or not claims.actor_id:
        raise unauthorized()
    user = await session.get(User, claims.actor_id)
    if user is None or user.deleted_at is not None:
        raise unauthorized()
    return AdminActor(user_id=user.id)


Admin = Annotated[AdminActor, Depends(admin)]


@dataclass(frozen=True)
class StoreContext:
    api_key_id: str
    sales_channel_ids: tuple[str, ...]


async def store(request: Request, session: Session) -> StoreContext:
    token = request.headers.get("x-publishable-api-key")
    if not token:
        raise not_allowed(MISSING_KEY)
    key = await session.scalar(
        select(ApiKey).where(
            ApiKey.token_digest == digest(token),
            ApiKey.type == "publishable",
            ApiKey.revoked_at.is_(None),
            ApiKey.deleted_at.is_(None),
        )
    )
    if key is None:
        raise not_allowed(INVALID_KEY)
    channels = await session.scalars(
        select(ApiKeySalesChannel.sales_channel_id)
        .where(ApiKeySalesChannel.api_key_id == key.id)
        .order_by(ApiKeySalesChannel.sales_channel_id)
    )
    return StoreContext(api_key_id=key.id, sales_channel_ids=tuple(channels))


Store = Annotated[StoreContext, Depends(store)]


def token_claims(request: Request) -> TokenClaims | None:
    token = _bearer(request)
    return read_token(token) if token else None


async def optional_customer(request: Request, session: Session) -> Customer | None:
    """The logged-in customer, if a customer token is sent (an invalid token is still a 401)."""
    claims = token_claims(request)
    if claims is None:
        return None
    if claims.actor_type != "customer" or not claims.actor_id:
        raise unauthorized()
    customer = await session.get(Customer, claims.actor_id)
    if customer is None or customer.deleted_at is not None:
        raise unauthorized()
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


async def vendor(request: Request, session: Session) -> VendorContext:
    claims = token_claims(request)
    if claims is None or claims.actor_type != "seller" or not claims.actor_id:
        raise unauthorized()
    member = await session.get(SellerMember, claims.actor_id)
    if member is None or member.deleted_at is not None:
        raise unauthorized()
    seller = await session.get(Seller, member.seller_id)
    if seller is None or seller.deleted_at is not None:
        raise unauthorized()
    return VendorContext(member_id=member.id, seller_id=member.seller_id)


Vendor = Annotated[VendorContext, Depends(vendor)]
