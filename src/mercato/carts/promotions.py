"""A cart's promotions: the codes the shopper entered, the automatic promotions, and the
adjustments they give (promotions.md, Store API).

Every change of a cart *refreshes* it: the promotions are evaluated again from their current
definitions and every adjustment is recomputed by the domain (:func:`apply_promotions`); an
entered code that stopped applying is dropped. Adjustments are stored with their ``amount`` only:
their tax split follows from the line whenever it is rendered or placed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.carts.contents import cart_items, cart_shipping_methods
from mercato.carts.models import (
    Cart,
    CartLineItem,
    CartLineItemAdjustment,
    CartPromotion,
    CartShippingMethod,
    CartShippingMethodAdjustment,
)
from mercato.customers.models import CustomerGroup, CustomerGroupCustomer
from mercato.db.base import new_id
from mercato.domain import promotions as dom
from mercato.errors import invalid, not_allowed
from mercato.promotions.loading import Loaded, by_codes, by_ids, live_automatic, load_promotions
from mercato.regions.models import Region

MAX_ENTERED_CODES = 20
CODES_MESSAGE = "promo_codes must contain 1 to 20 codes"


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What the current definitions give a cart: the application and the entered promotions."""

    application: dom.Application
    entered: list[dom.Promotion]
    context: dom.CartContext


async def entered_promotion_ids(session: AsyncSession, cart_id: str) -> list[str]:
    return list(
        await session.scalars(
            select(CartPromotion.promotion_id)
            .where(CartPromotion.cart_id == cart_id)
            .order_by(CartPromotion.created_at, CartPromotion.promotion_id)
        )
    )


async def _customer_groups(session: AsyncSession, customer_id: str | None) -> frozenset[str]:
    if customer_id is None:
        return frozenset()
    groups = await session.scalars(
        select(CustomerGroupCustomer.customer_group_id)
        .join(CustomerGroup, CustomerGroup.id == CustomerGroupCustomer.customer_group_id)
        .where(CustomerGroupCustomer.customer_id == customer_id, CustomerGroup.deleted_at.is_(None))
    )
    return frozenset(groups)


async def cart_context(
    session: AsyncSession,
    cart: Cart,
    region: Region,
    items: Sequence[CartLineItem],
    methods: Sequence[CartShippingMethod],
    loaded: Loaded,
) -> dom.CartContext:
    """The cart as the promotion rules see it."""
    address = cart.shipping_address or {}
    return dom.CartContext(
        id=cart.id,
        currency_code=cart.currency_code,
        region_id=cart.region_id,
        sales_channel_id=cart.sales_channel_id,
        customer_id=cart.customer_id,
        customer_group_ids=await _customer_groups(session, cart.customer_id),
        shipping_country_code=address.get("country_code"),
        tax_rate=region.tax_rate,
        tax_inclusive=region.tax_inclusive,
        lines=tuple(
            dom.CartLine(
                id=line.id,
                seller_id=line.seller_id,
                product_id=line.product_id,
                variant_id=line.variant_id,
                unit_price=line.unit_price,
                quantity=line.quantity,
                is_tax_inclusive=line.is_tax_inclusive,
            )
            for line in sorted(items, key=lambda line: line.id)
        ),
        shipping_methods=tuple(
            dom.CartShipping(
                id=method.id,
                seller_id=method.seller_id,
                shipping_option_id=method.shipping_option_id,
                amount=method.amount,
                is_tax_inclusive=method.is_tax_inclusive,
            )
            for method in sorted(methods, key=lambda method: method.id)
        ),
        now=loaded.now or datetime.now(UTC),
    )


def candidates(entered_ids: Sequence[str]) -> ColumnElement[bool]:
    """The promotions a cart considers: its entered ones and every live automatic one."""
    return or_(by_ids(entered_ids), live_automatic()) if entered_ids else live_automatic()


async def evaluate(
    session: AsyncSession,
    cart: Cart,
    loaded: Loaded,
    *,
    region: Region,
    items: Sequence[CartLineItem],
    methods: Sequence[CartShippingMethod],
    entered_ids: Sequence[str],
) -> Evaluation:
    """Apply the ``loaded`` promotions (:func:`candidates`) to the cart as it is now."""
    context = await cart_context(session, cart, region, items, methods, loaded)
    application = dom.apply_promotions(context, loaded.promotions)
    wanted = set(entered_ids)
    entered = [p for p in loaded.promotions if p.id in wanted]
    return Evaluation(application, entered, context)


async def store_application(
    session: AsyncSession, cart: Cart, evaluation: Evaluation | None
) -> None:
    """Replace the cart's adjustments and entered codes with what ``evaluation`` gives: an
    entered code that no longer applies is dropped."""
    # One round trip: the three deletes as data-modifying CTEs of one statement.
    lines = (
        delete(CartLineItemAdjustment)
        .where(CartLineItemAdjustment.cart_id == cart.id)
        .returning(CartLineItemAdjustment.id)
        .cte("lines")
    )
    methods = (
        delete(CartShippingMethodAdjustment)
        .where(CartShippingMethodAdjustment.cart_id == cart.id)
        .returning(CartShippingMethodAdjustment.id)
        .cte("methods")
    )
    await session.execute(
        delete(CartPromotion)
        .where(CartPromotion.cart_id == cart.id)
        .add_cte(lines)
        .add_cte(methods)
    )
    if evaluation is None:
        return
    application = evaluation.application
    applied = {p.id for p in application.applied}
    kept = [p.id for p in evaluation.entered if p.id in applied and not p.is_automatic]
    if kept:
        await session.execute(
            insert(CartPromotion), [{"cart_id": cart.id, "promotion_id": pid} for pid in kept]
        )
    line_rows = []
    method_rows = []
    for position, adjustment in enumerate(application.adjustments):
        row = {
            "position": position,
            "cart_id": cart.id,
            "promotion_id": adjustment.promotion_id,
            "code": adjustment.code,
            "description": None,
            "amount": adjustment.amount,
            "is_tax_inclusive": adjustment.is_tax_inclusive,
            "funded_by": adjustment.funded_by,
            "seller_id": adjustment.seller_id,
        }
        if adjustment.item_id is not None:
            line_rows.append({**row, "id": new_id("caliadj"), "item_id": adjustment.item_id})
        else:
            method_rows.append(
                {
                    **row,
                    "id": new_id("casmadj"),
                    "shipping_method_id": adjustment.shipping_method_id,
                }
            )
    if line_rows:
        await session.execute(insert(CartLineItemAdjustment), line_rows)
    if method_rows:
        await session.execute(insert(CartShippingMethodAdjustment), method_rows)


async def has_promotions(session: AsyncSession, cart_id: str) -> bool:
    """Whether the cart holds an entered code or an adjustment (so a refresh must rewrite)."""
    found = await session.scalar(
        select(CartPromotion.cart_id)
        .where(CartPromotion.cart_id == cart_id)
        .union_all(
            select(CartLineItemAdjustment.cart_id).where(CartLineItemAdjustment.cart_id == cart_id),
            select(CartShippingMethodAdjustment.cart_id).where(
                CartShippingMethodAdjustment.cart_id == cart_id
            ),
        )
        .limit(1)
    )
    return found is not None


async def refresh_promotions(
    session: AsyncSession,
    cart: Cart,
    *,
    entered_ids: Sequence[str] | None = None,
    current: Sequence[str] | None = None,
    loaded: Loaded | None = None,
) -> Evaluation | None:
    """Evaluate the cart's promotions again from their current definitions and store the
    adjustments they give (promotions.md: every change refreshes the cart). ``entered_ids``
    replaces the entered codes; an entered code that no longer applies is dropped.
    ``current``: the entered codes, when the caller has read them already; ``loaded``: promotions
    read already, among them every one :func:`candidates` would read."""
    await session.flush()
    if current is None:
        current = await entered_promotion_ids(session, cart.id)
    ids = current if entered_ids is None else list(entered_ids)
    if loaded is None:
        loaded = await load_promotions(session, candidates(ids))
    else:
        wanted = set(ids)
        loaded = Loaded(
            [p for p in loaded.promotions if p.id in wanted or _live_automatic(p)], loaded.now
        )
    evaluation = None
    if loaded.promotions:
        region = await session.get(Region, cart.region_id)
        assert region is not None, "cart.region_id is a foreign key"
        evaluation = await evaluate(
            session,
            cart,
            loaded,
            region=region,
            items=await cart_items(session, cart.id),
            methods=await cart_shipping_methods(session, cart.id),
            entered_ids=ids,
        )
    if evaluation is not None or current or await has_promotions(session, cart.id):
        await store_application(session, cart, evaluation)
    return evaluation


def promo_codes(value: Any) -> list[str]:
    """The ``promo_codes`` of a body: 1 to 20 non-empty strings (400 otherwise)."""
    if (
        not isinstance(value, list)
        or not 1 <= len(value) <= MAX_ENTERED_CODES
        or not all(isinstance(code, str) and code.strip() for code in value)
    ):
        raise invalid(CODES_MESSAGE)
    return list(dict.fromkeys(code.strip() for code in value))


def _live_automatic(promotion: dom.Promotion) -> bool:
    """What :func:`live_automatic` selects, for promotions already read."""
    return promotion.is_automatic and promotion.status == "active" and not promotion.deleted


def _usable(found: dict[str, dom.Promotion], code: str) -> dom.Promotion:
    promotion = found.get(code.lower())
    if promotion is None or promotion.status != "active":
        raise invalid(f"The promotion code {code} is invalid", code="promotion_not_found")
    return promotion


async def enter_codes(
    session: AsyncSession,
    cart: Cart,
    *,
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
    replace: Sequence[str] | None = None,
) -> None:
    """Add, remove or replace the cart's entered codes and refresh it; all or nothing (the
    caller's transaction rolls back on a 400). A code of an automatic promotion is accepted and
    changes nothing: it applies anyway."""
    current = await entered_promotion_ids(session, cart.id)
    codes = [code.lower() for code in (*add, *remove, *(replace or ()))]
    # One read: the promotions named by the codes, the entered ones and the automatic ones.
    loaded = await load_promotions(session, or_(by_codes(codes), candidates(current)))
    found = {
        p.code.lower(): p for p in loaded.promotions if not p.deleted and p.code.lower() in codes
    }
    if replace is not None:
        added = [_usable(found, code) for code in replace]
        entered = [p.id for p in added if not p.is_automatic]
    else:
        added = [_usable(found, code) for code in add]
        entered = [*current, *(p.id for p in added if not p.is_automatic)]
        for code in remove:
            promotion = found.get(code.lower())
            if promotion is not None and promotion.is_automatic:
                raise invalid(
                    f"Promotion {promotion.code} is applied automatically and cannot be removed"
                )
            if promotion is None or promotion.id not in entered:
                raise invalid(f"Promotion code {code} is not applied to cart {cart.id}")
            entered = [pid for pid in entered if pid != promotion.id]
    entered = list(dict.fromkeys(entered))
    if len(entered) > MAX_ENTERED_CODES:
        raise invalid(CODES_MESSAGE)
    evaluation = await refresh_promotions(
        session, cart, entered_ids=entered, current=current, loaded=loaded
    )
    rejected = {r.promotion_id: r for r in evaluation.application.rejected} if evaluation else {}
    for promotion in added:
        rejection = rejected.get(promotion.id)
        if rejection is not None and not promotion.is_automatic:
            raise not_allowed(
                f"Promotion code {promotion.code} cannot be applied to cart {cart.id}: "
                f"{rejection.detail}",
                code=rejection.reason,
            )
