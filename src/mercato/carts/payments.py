"""Payment collection and session commands (checkout.md, "Cart API").

A cart has at most one payment collection (``payment_collection.cart_id`` is unique) whose amount
is always the cart total: cart mutations keep it in sync through
:func:`mercato.carts.service.sync_payment_collection`. A collection holds at most one live session:
creating a session replaces the previous ones. Both commands lock the cart row first, so they
serialize with cart mutations and with the completion; each is one unit of work.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.carts.service import (
    cart_totals,
    ensure_mutable,
    find_cart,
    lock_cart,
    sync_payment_collection,
)
from mercato.customers.models import Customer
from mercato.db.base import new_id
from mercato.errors import invalid, not_found
from mercato.payments.models import PaymentCollection, PaymentSession
from mercato.payments.providers import check_session_data
from mercato.regions.models import Region
from mercato.unit_of_work import UnitOfWork


async def _collection_of(session: AsyncSession, cart_id: str) -> PaymentCollection | None:
    return await session.scalar(
        select(PaymentCollection)
        .where(PaymentCollection.cart_id == cart_id)
        .execution_options(populate_existing=True)
    )


async def get_or_create_payment_collection(
    uow: UnitOfWork, *, cart_id: str, customer: Customer | None
) -> PaymentCollection:
    """The cart's collection, created with the cart total on first call (idempotent).

    Race-safe twice over: the cart row lock serializes callers, and the insert is
    ``ON CONFLICT (cart_id) DO NOTHING`` against the unique constraint.
    """
    async with uow:
        collection = await _get_or_create(uow.session, cart_id=cart_id, customer=customer)
        await uow.commit()
    return collection


async def _get_or_create(
    session: AsyncSession, *, cart_id: str, customer: Customer | None
) -> PaymentCollection:
    cart = await lock_cart(session, cart_id, customer=customer)
    collection = await _collection_of(session, cart.id)
    if collection is None:
        ensure_mutable(cart)
        totals = await cart_totals(session, cart)
        await session.execute(
            insert(PaymentCollection)
            .values(
                id=new_id("pay_col"),
                cart_id=cart.id,
                currency_code=cart.currency_code,
                amount=totals.total,
                authorized_amount=0,
                captured_amount=0,
                refunded_amount=0,
                status="not_paid",
            )
            .on_conflict_do_nothing(index_elements=[PaymentCollection.cart_id])
        )
        collection = await _collection_of(session, cart.id)
        assert collection is not None
    elif cart.completed_at is None:
        await sync_payment_collection(session, cart)
    return collection


async def create_payment_session(
    uow: UnitOfWork,
    *,
    collection_id: str,
    customer: Customer | None,
    provider_id: str,
    data: dict[str, Any] | None = None,
) -> PaymentCollection:
    """Replace the collection's sessions with one ``pending`` session for the whole amount.

    400 when the provider is unavailable, its ``data`` is unusable, or the cart's region does not
    enable it; 404 for an unknown collection (or another customer's).
    """
    async with uow:
        collection = await _replace_sessions(
            uow.session,
            collection_id=collection_id,
            customer=customer,
            provider_id=provider_id,
            data=data,
        )
        await uow.commit()
    return collection


async def _replace_sessions(
    session: AsyncSession,
    *,
    collection_id: str,
    customer: Customer | None,
    provider_id: str,
    data: dict[str, Any] | None,
) -> PaymentCollection:
    collection = await session.get(PaymentCollection, collection_id)
    # An order change's collection is not a cart's (paying it is order-changes.md §10's work).
    if collection is None or collection.cart_id is None:
        raise not_found("Payment collection", collection_id)
    cart = await find_cart(session, collection.cart_id, customer=customer, for_update=True)
    if cart is None:  # a cart the caller may not reach: its collection does not exist for them
        raise not_found("Payment collection", collection_id)
    ensure_mutable(cart)
    check_session_data(provider_id, data)
    region = await session.get(Region, cart.region_id)
    assert region is not None
    if provider_id not in region.payment_providers:
        raise invalid(f"Payment provider {provider_id} is not enabled in region {region.id}")
    collection = await sync_payment_collection(session, cart)
    assert collection is not None
    await session.execute(
        delete(PaymentSession).where(PaymentSession.payment_collection_id == collection.id)
    )
    session.add(
        PaymentSession(
            payment_collection_id=collection.id,
            provider_id=provider_id,
            currency_code=collection.currency_code,
            amount=collection.amount,
            data=data,
            status="pending",
        )
    )
    return collection
