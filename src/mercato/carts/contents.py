"""A cart's lines and shipping methods, in the order they were added."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.carts.models import CartLineItem, CartShippingMethod


async def cart_items(session: AsyncSession, cart_id: str) -> list[CartLineItem]:
    return list(
        await session.scalars(
            select(CartLineItem)
            .where(CartLineItem.cart_id == cart_id)
            .order_by(CartLineItem.created_at, CartLineItem.id)
        )
    )


async def cart_shipping_methods(session: AsyncSession, cart_id: str) -> list[CartShippingMethod]:
    return list(
        await session.scalars(
            select(CartShippingMethod)
            .where(CartShippingMethod.cart_id == cart_id)
            .order_by(CartShippingMethod.created_at, CartShippingMethod.id)
        )
    )
