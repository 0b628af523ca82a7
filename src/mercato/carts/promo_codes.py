"""``POST|DELETE /store/carts/:id/promotions``: the codes a shopper enters (promotions.md)."""

from __future__ import annotations

from collections.abc import Sequence

from mercato.carts.models import Cart
from mercato.carts.promotions import enter_codes
from mercato.carts.service import ensure_mutable, lock_cart, settle
from mercato.customers.models import Customer
from mercato.unit_of_work import UnitOfWork


async def change_promo_codes(
    uow: UnitOfWork,
    *,
    cart_id: str,
    customer: Customer | None,
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
) -> Cart:
    """Add or remove entered codes, all or nothing; the cart is refreshed."""
    async with uow:
        cart = await lock_cart(uow.session, cart_id, customer=customer)
        ensure_mutable(cart)
        await enter_codes(uow.session, cart, add=add, remove=remove)
        await settle(uow, cart)
    return cart
