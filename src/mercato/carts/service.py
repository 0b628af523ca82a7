"""Store cart use cases (checkout.md, "Cart API").

Every mutation follows the same shape, so concurrent requests and the completion serialize on the
cart and the payment collection can never drift from the cart total:

1. :func:`lock_cart` — ``SELECT … FOR UPDATE`` on the cart row (the completion takes the same
   lock), 404 for an unknown cart or a customer's cart without that customer's token, 409 while
   a completion of the cart is in flight (:func:`ensure_not_completing`);
2. :func:`ensure_mutable` — a completed cart refuses every change;
3. validate and write;
4. :func:`_finish` — touch ``updated_at``, :func:`sync_payment_collection` (new amount, sessions
   removed when the total changed) and commit, all in the one transaction.

Each mutation is a command ``async def x(uow, *, …)`` that runs those steps inside
``async with uow:``; its unit of work commits once, in :func:`_finish`.

Line items are snapshots taken when the line is added (title = product title, subtitle = variant
title, price in the cart currency, seller from the product); adding the same variant again adds to
the existing line's quantity and keeps its snapshot.

Removing a seller's last line **keeps** that seller's shipping method: completion refuses a method
whose seller has no items (checkout.md, completion rule 4), so the shopper sees why and can pick
again, instead of a shipping choice silently disappearing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Numeric,
    and_,
    bindparam,
    cast,
    delete,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.carts.contents import cart_items, cart_shipping_methods
from mercato.carts.models import (
    Cart,
    CartLineItem,
    CartLineItemAdjustment,
    CartShippingMethod,
    CartShippingMethodAdjustment,
)
from mercato.carts.promotions import enter_codes, refresh_promotions
from mercato.customers.models import Customer
from mercato.domain.limits import MAX_CART_AMOUNT, MAX_LINE_QUANTITY
from mercato.domain.money import exact_major
from mercato.domain.totals import (
    DiscountedTotals,
    DocumentTotals,
    TaxRate,
    discounted_line_totals,
    document_totals,
)
from mercato.errors import MercatoError, invalid, not_found
from mercato.payments.models import PaymentCollection, PaymentSession
from mercato.products.models import (
    InventoryLevel,
    Price,
    Product,
    ProductSalesChannel,
    ProductVariant,
)
from mercato.query.driver import FixedQuery, keys_param
from mercato.regions.models import Region
from mercato.sales_channels.models import SalesChannel
from mercato.sellers.models import Seller
from mercato.shipping_options.models import ShippingOption
from mercato.unit_of_work import UnitOfWork
from mercato.workflows.models import RUNNING, WorkflowRun

INSUFFICIENT_INVENTORY = "insufficient_inventory"


# --------------------------------------------------------------------------- loading and totals


def can_access(cart: Cart, customer: Customer | None) -> bool:
    """A guest cart is reachable by its id (as in Medusa); a customer's cart only with that
    customer's token (checkout.md, "Who reaches a cart") — anyone else is told it does not
    exist."""
    return cart.customer_id is None or (customer is not None and cart.customer_id == customer.id)


async def find_cart(
    session: AsyncSession,
    cart_id: str,
    *,
    customer: Customer | None = None,
    for_update: bool = False,
) -> Cart | None:
    """The cart if the caller (``customer``: the token's, or None) may reach it, else None."""
    query = select(Cart).where(Cart.id == cart_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    cart = await session.scalar(query)
    if cart is None or not can_access(cart, customer):
        return None
    if for_update:
        await ensure_not_completing(session, cart)
    return cart


# A completion in flight (``checkout.service``): its run is ``running`` with the cart as subject.
# The status is in the SQL so the partial index on running runs serves it.
_COMPLETING = FixedQuery(
    select(WorkflowRun.id)
    .where(
        WorkflowRun.subject_id == bindparam("cart_id"),
        WorkflowRun.status == literal_column(f"'{RUNNING}'"),
    )
    .limit(1)
)


async def ensure_not_completing(session: AsyncSession, cart: Cart) -> None:
    """409 while the cart is being completed: its contents are becoming orders. Run after the
    cart's row lock is held (a new statement, so it sees a completion committed meanwhile)."""
    if await _COMPLETING.records(session, cart_id=cart.id):
        raise MercatoError(
            "conflict",
            f"Cart {cart.id} is being completed; try again when its completion has finished",
        )


async def get_cart(
    session: AsyncSession,
    cart_id: str,
    *,
    customer: Customer | None = None,
    for_update: bool = False,
) -> Cart:
    """The cart, or 404 ``Cart with id <id> was not found`` (also for a cart the caller may not
    reach)."""
    cart = await find_cart(session, cart_id, customer=customer, for_update=for_update)
    if cart is None:
        raise not_found("Cart", cart_id)
    return cart


async def lock_cart(
    session: AsyncSession, cart_id: str, *, customer: Customer | None = None
) -> Cart:
    """``SELECT … FOR UPDATE`` the cart at the start of a mutating transaction."""
    return await get_cart(session, cart_id, customer=customer, for_update=True)


def ensure_mutable(cart: Cart) -> None:
    if cart.completed_at is not None:
        raise invalid(f"Cart {cart.id} is already completed.")


async def adjustment_amounts(
    session: AsyncSession, cart_ids: Collection[str]
) -> dict[str, list[int]]:
    """The adjustment amounts of every line and shipping method of the carts, keyed by the
    line's or method's id, in stacking order (one query)."""
    amounts: dict[str, list[int]] = defaultdict(list)
    lines = select(
        CartLineItemAdjustment.item_id.label("owner"),
        CartLineItemAdjustment.position,
        CartLineItemAdjustment.amount,
    ).where(CartLineItemAdjustment.cart_id.in_(cart_ids))
    methods = select(
        CartShippingMethodAdjustment.shipping_method_id,
        CartShippingMethodAdjustment.position,
        CartShippingMethodAdjustment.amount,
    ).where(CartShippingMethodAdjustment.cart_id.in_(cart_ids))
    rows = await session.execute(lines.union_all(methods).order_by("owner", "position"))
    for key, _, amount in rows:
        amounts[key].append(amount)
    return amounts


def line_discounts(item: CartLineItem, rate: TaxRate, amounts: Sequence[int]) -> DiscountedTotals:
    """A line's totals after its adjustments (promotions.md, Tax after discounts)."""
    return discounted_line_totals(
        item.unit_price * item.quantity, amounts, rate, item.is_tax_inclusive
    )


def method_discounts(
    method: CartShippingMethod, rate: TaxRate, amounts: Sequence[int]
) -> DiscountedTotals:
    return discounted_line_totals(method.amount, amounts, rate, method.is_tax_inclusive)


def discounted_document_totals(
    items: Iterable[CartLineItem],
    methods: Iterable[CartShippingMethod],
    rate: TaxRate,
    amounts: Mapping[str, Sequence[int]],
) -> DocumentTotals:
    """A cart's (or a seller's part of it) totals: plain sums of its discounted lines."""
    return document_totals(
        (line_discounts(item, rate, amounts.get(item.id, ())).line for item in items),
        (method_discounts(m, rate, amounts.get(m.id, ())).line for m in methods),
    )


async def totals_by_cart(session: AsyncSession, carts: Sequence[Cart]) -> list[DocumentTotals]:
    """Totals of many carts (aligned with ``carts``) in five queries, whatever their number."""
    if not carts:
        return []
    cart_ids = {c.id for c in carts}
    rates = dict(
        (
            await session.execute(
                select(Region.id, Region.tax_rate).where(
                    Region.id.in_({c.region_id for c in carts})
                )
            )
        ).all()
    )
    items: dict[str, list[CartLineItem]] = defaultdict(list)
    for item in await session.scalars(
        select(CartLineItem).where(CartLineItem.cart_id.in_(cart_ids))
    ):
        items[item.cart_id].append(item)
    methods: dict[str, list[CartShippingMethod]] = defaultdict(list)
    for method in await session.scalars(
        select(CartShippingMethod).where(CartShippingMethod.cart_id.in_(cart_ids))
    ):
        methods[method.cart_id].append(method)
    amounts = await adjustment_amounts(session, cart_ids)
    return [
        discounted_document_totals(items[c.id], methods[c.id], rates[c.region_id], amounts)
        for c in carts
    ]


async def cart_totals(session: AsyncSession, cart: Cart) -> DocumentTotals:
    """Exact totals of one cart (minor units), as shown on the cart and charged by payment."""
    await session.flush()
    return (await totals_by_cart(session, [cart]))[0]


async def check_cart_amount(session: AsyncSession, cart: Cart) -> None:
    """A change may not take the cart's amount before tax — what its lines and shipping methods
    add up to — past ``MAX_CART_AMOUNT``: every total derived from the cart then fits a
    ``BIGINT`` exactly (400 otherwise, nothing written). Tax does not count, so an operator's
    new tax rate cannot push a cart past the bound (domain/limits.py)."""
    await session.flush()
    lines = select(
        func.coalesce(func.sum(cast(CartLineItem.unit_price, Numeric) * CartLineItem.quantity), 0)
    ).where(CartLineItem.cart_id == cart.id)
    shipping = select(func.coalesce(func.sum(CartShippingMethod.amount), 0)).where(
        CartShippingMethod.cart_id == cart.id
    )
    amount = await session.scalar(select(lines.scalar_subquery() + shipping.scalar_subquery()))
    if amount is not None and amount > MAX_CART_AMOUNT:
        limit = exact_major(MAX_CART_AMOUNT, cart.currency_code)
        raise invalid(
            f"Cart {cart.id} would amount to more than {limit} {cart.currency_code.upper()} "
            "before tax, the largest cart allowed"
        )


# ---------------------------------------------------------------------------- payment collection


async def sync_payment_collection(session: AsyncSession, cart: Cart) -> PaymentCollection | None:
    """Keep the cart's payment collection equal to the cart total, inside the caller's transaction.

    When the total (or currency) changed, the collection takes the new amount, goes back to
    ``not_paid`` and loses its sessions: the shopper must start a session again (checkout.md).
    Called by every cart-mutating use case (through :func:`_finish`) and before payment sessions
    are created, so a tax-rate change by an operator is picked up too.
    """
    await session.flush()
    collection = await session.scalar(
        select(PaymentCollection)
        .where(PaymentCollection.cart_id == cart.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if collection is None:
        return None
    total = (await cart_totals(session, cart)).total
    if collection.amount != total or collection.currency_code != cart.currency_code:
        collection.amount = total
        collection.currency_code = cart.currency_code
        collection.status = "not_paid"
        await session.execute(
            delete(PaymentSession).where(PaymentSession.payment_collection_id == collection.id)
        )
    return collection


async def _finish(uow: UnitOfWork, cart: Cart) -> Cart:
    await refresh_promotions(uow.session, cart)
    return await settle(uow, cart)


async def settle(uow: UnitOfWork, cart: Cart) -> Cart:
    """Check the amount bound, follow the total with the payment collection, commit."""
    session = uow.session
    await check_cart_amount(session, cart)
    cart.updated_at = datetime.now(UTC)
    await sync_payment_collection(session, cart)
    await uow.commit()
    return cart


# ------------------------------------------------------------------------------ line items


async def _region(session: AsyncSession, region_id: str) -> Region:
    region = await session.get(Region, region_id)
    if region is None or region.deleted_at is not None:
        raise invalid(f"Region with id {region_id} was not found")
    return region


async def _price(session: AsyncSession, variant_id: str, currency_code: str) -> int:
    amount = await session.scalar(
        select(Price.amount).where(
            Price.variant_id == variant_id, Price.currency_code == currency_code
        )
    )
    if amount is None:
        raise invalid(f"Variant {variant_id} has no price in currency {currency_code}")
    return amount


async def check_stock(session: AsyncSession, variant: ProductVariant, quantity: int) -> None:
    """A managed, non-backorder variant needs ``quantity`` available (stocked − reserved)."""
    if not variant.manage_inventory or variant.allow_backorder:
        return
    available = (
        await session.execute(
            select(
                func.coalesce(
                    func.sum(InventoryLevel.stocked_quantity - InventoryLevel.reserved_quantity), 0
                )
            ).where(InventoryLevel.variant_id == variant.id)
        )
    ).scalar_one()
    if quantity > available:
        raise _insufficient(variant.id, quantity, available)


def _sellable_query() -> FixedQuery:
    """Per variant id: what decides whether a shopper may buy it in a cart (its product live
    and published, in the cart's channel, its seller active), its price in the cart's currency
    and what its stock levels have available — one statement for every item of a request."""
    in_channel = (
        select(ProductSalesChannel.product_id)
        .where(
            ProductSalesChannel.product_id == Product.id,
            ProductSalesChannel.sales_channel_id == bindparam("channel_id"),
        )
        .exists()
    )
    unit_price = (
        select(Price.amount)
        .where(
            Price.variant_id == ProductVariant.id,
            Price.currency_code == bindparam("currency_code"),
        )
        .scalar_subquery()
    )
    available = (
        select(
            func.coalesce(
                func.sum(InventoryLevel.stocked_quantity - InventoryLevel.reserved_quantity), 0
            )
        )
        .where(InventoryLevel.variant_id == ProductVariant.id)
        .scalar_subquery()
    )
    seller_active = and_(
        Seller.id.is_not(None), Seller.deleted_at.is_(None), Seller.status == "active"
    )
    return FixedQuery(
        select(
            ProductVariant.id,
            ProductVariant.title,
            ProductVariant.sku,
            ProductVariant.manage_inventory,
            ProductVariant.allow_backorder,
            ProductVariant.requires_shipping,
            Product.id.label("product_id"),
            Product.title.label("product_title"),
            Product.handle.label("product_handle"),
            Product.thumbnail.label("product_thumbnail"),
            Product.status.label("product_status"),
            Product.seller_id,
            in_channel.label("in_channel"),
            seller_active.label("seller_active"),
            unit_price.label("unit_price"),
            available.label("available"),
        )
        .join(Product, and_(Product.id == ProductVariant.product_id, Product.deleted_at.is_(None)))
        .outerjoin(Seller, Seller.id == Product.seller_id)
        .where(keys_param(ProductVariant.id, "variant_ids"), ProductVariant.deleted_at.is_(None))
    )


SELLABLE = _sellable_query()
"""``SELLABLE.rows(session, variant_ids=[...], channel_id=..., currency_code=...)``: what
:func:`check_sellable` reads, per variant (a draft order's items are checked the same way)."""
_SELLABLE = SELLABLE


def check_sellable(
    row: Any, variant_id: str, *, sales_channel_id: str, currency_code: str, priced: bool = True
) -> Any:
    """``row`` (of :data:`SELLABLE`) if the variant may be sold in the sales channel — at a
    price in the currency unless ``priced`` is False (the caller sets the price) — else 404 /
    400 naming it."""
    if row is None:
        raise not_found("Variant", variant_id)
    if row.product_status != "published":
        raise invalid(f"Product {row.product_id} of variant {variant_id} is not published")
    if not row.in_channel:
        raise invalid(f"Variant {variant_id} is not available in sales channel {sales_channel_id}")
    if not row.seller_active:
        raise invalid(f"Seller {row.seller_id} of variant {variant_id} is not active")
    if priced and row.unit_price is None:
        raise invalid(f"Variant {variant_id} has no price in currency {currency_code}")
    return row


def _sellable(row: Any, variant_id: str, cart: Cart) -> Any:
    """``row`` if a shopper may buy the variant in this cart at a price (404 / 400 otherwise)."""
    return check_sellable(
        row, variant_id, sales_channel_id=cart.sales_channel_id, currency_code=cart.currency_code
    )


def insufficient(variant_id: str, quantity: int, available: int) -> MercatoError:
    """400 ``insufficient_inventory`` naming the variant, what was asked and what is left."""
    return _insufficient(variant_id, quantity, available)


def _insufficient(variant_id: str, quantity: int, available: int) -> MercatoError:
    return MercatoError(
        "not_allowed",
        f"Variant {variant_id} does not have the required inventory "
        f"({quantity} requested, {max(available, 0)} available)",
        code=INSUFFICIENT_INVENTORY,
    )


async def _add_items(
    session: AsyncSession,
    *,
    cart: Cart,
    region: Region,
    items: Sequence[dict[str, Any]],
    new_cart: bool = False,
) -> None:
    """Add ``items`` (``variant_id``, ``quantity``, ``metadata``) in order, each checked as it
    comes: a variant already in the cart (or earlier in ``items``) adds to its line, and the
    stock check is for the line's new quantity. What the checks read comes from one statement
    for all the items; the lines are written in one flush."""
    variant_ids = list(dict.fromkeys(item["variant_id"] for item in items))
    found = {
        row.id: row
        for row in await _SELLABLE.rows(
            session,
            variant_ids=variant_ids,
            channel_id=cart.sales_channel_id,
            currency_code=cart.currency_code,
        )
    }
    lines: dict[str, CartLineItem] = {}
    if not new_cart:
        existing = await session.scalars(
            select(CartLineItem).where(
                CartLineItem.cart_id == cart.id, CartLineItem.variant_id.in_(variant_ids)
            )
        )
        lines = {line.variant_id: line for line in existing}
    for item in items:
        variant_id, quantity, metadata = item["variant_id"], item["quantity"], item.get("metadata")
        row = _sellable(found.get(variant_id), variant_id, cart)
        line = lines.get(variant_id)
        total_quantity = quantity + (line.quantity if line else 0)
        if total_quantity > MAX_LINE_QUANTITY:
            raise invalid(
                f"Invalid request: quantity: the line of variant {variant_id} would exceed "
                f"{MAX_LINE_QUANTITY} units"
            )
        managed = row.manage_inventory and not row.allow_backorder
        if managed and total_quantity > row.available:
            raise _insufficient(variant_id, total_quantity, row.available)
        if line is not None:
            line.quantity += quantity
            if metadata is not None:
                line.metadata_ = metadata
            continue
        lines[variant_id] = line = CartLineItem(
            cart_id=cart.id,
            variant_id=variant_id,
            product_id=row.product_id,
            seller_id=row.seller_id,
            title=row.product_title,
            subtitle=row.title,
            thumbnail=row.product_thumbnail,
            product_title=row.product_title,
            product_handle=row.product_handle,
            variant_title=row.title,
            variant_sku=row.sku,
            quantity=quantity,
            unit_price=row.unit_price,
            requires_shipping=row.requires_shipping,
            is_tax_inclusive=region.tax_inclusive,
            metadata_=metadata,
        )
        session.add(line)
    await session.flush()


async def add_line_item(
    uow: UnitOfWork,
    *,
    cart_id: str,
    customer: Customer | None,
    variant_id: str,
    quantity: int,
    metadata: dict[str, Any] | None = None,
) -> Cart:
    async with uow:
        session = uow.session
        cart = await lock_cart(session, cart_id, customer=customer)
        ensure_mutable(cart)
        region = await session.get(Region, cart.region_id)
        assert region is not None
        item = {"variant_id": variant_id, "quantity": quantity, "metadata": metadata}
        await _add_items(session, cart=cart, region=region, items=[item])
        await _finish(uow, cart)
    return cart


async def _line(session: AsyncSession, cart: Cart, line_id: str) -> CartLineItem:
    line = await session.scalar(
        select(CartLineItem).where(CartLineItem.id == line_id, CartLineItem.cart_id == cart.id)
    )
    if line is None:
        raise not_found("Line item", line_id)
    return line


async def update_line_item(
    uow: UnitOfWork,
    *,
    cart_id: str,
    customer: Customer | None,
    line_id: str,
    quantity: int,
    metadata: dict[str, Any] | None = None,
) -> Cart:
    """Set a line's quantity (stock checked for the new quantity); ``0`` removes the line."""
    async with uow:
        session = uow.session
        cart = await lock_cart(session, cart_id, customer=customer)
        ensure_mutable(cart)
        line = await _line(session, cart, line_id)
        if quantity == 0:
            await session.delete(line)
        else:
            variant = await session.get(ProductVariant, line.variant_id)
            if variant is None or variant.deleted_at is not None:
                raise not_found("Variant", line.variant_id)
            await check_stock(session, variant, quantity)
            line.quantity = quantity
            if metadata is not None:
                line.metadata_ = metadata
        await _finish(uow, cart)
    return cart


async def delete_line_item(
    uow: UnitOfWork, *, cart_id: str, customer: Customer | None, line_id: str
) -> Cart:
    """Remove a line. The seller's shipping method stays, even without items (module docstring)."""
    async with uow:
        session = uow.session
        cart = await lock_cart(session, cart_id, customer=customer)
        ensure_mutable(cart)
        await session.delete(await _line(session, cart, line_id))
        await _finish(uow, cart)
    return cart


# ---------------------------------------------------------------------------------- the cart


async def _channel(session: AsyncSession, channel_ids: Sequence[str], requested: str | None) -> str:
    """The cart's sales channel from the publishable key (api-conventions.md)."""
    if requested is not None:
        if requested not in channel_ids:
            raise invalid(
                f"Sales channel {requested} is not one of the publishable key's sales channels"
            )
        channel_id = requested
    elif len(channel_ids) == 1:
        channel_id = channel_ids[0]
    elif not channel_ids:
        raise invalid("The publishable key is not linked to any sales channel")
    else:
        raise invalid(
            "Invalid request: sales_channel_id: is required when the publishable key has "
            "several sales channels"
        )
    channel = await session.get(SalesChannel, channel_id)
    if channel is None or channel.deleted_at is not None:
        raise invalid(f"Sales channel with id {channel_id} was not found")
    if channel.is_disabled:
        raise invalid(f"Sales channel {channel_id} is disabled")
    return channel_id


async def _cart_region(session: AsyncSession, region_id: str | None) -> Region:
    if region_id is not None:
        return await _region(session, region_id)
    live = list(await session.scalars(select(Region).where(Region.deleted_at.is_(None)).limit(2)))
    if len(live) != 1:
        raise invalid("Invalid request: region_id: is required unless exactly one region exists")
    return live[0]


def _address(value: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if value is None else dict(value)


async def create_cart(
    uow: UnitOfWork,
    *,
    channel_ids: Sequence[str],
    customer: Customer | None,
    region_id: str | None = None,
    sales_channel_id: str | None = None,
    email: str | None = None,
    currency_code: str | None = None,
    items: Sequence[dict[str, Any]] = (),
    shipping_address: dict[str, Any] | None = None,
    billing_address: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Cart:
    """A cart in one region and sales channel; with a customer, it belongs to that customer."""
    async with uow:
        session = uow.session
        region = await _cart_region(session, region_id)
        if currency_code is not None and currency_code != region.currency_code:
            raise invalid(
                f"Invalid request: currency_code: must be the region's currency "
                f"({region.currency_code})"
            )
        cart = Cart(
            region_id=region.id,
            currency_code=region.currency_code,
            sales_channel_id=await _channel(session, channel_ids, sales_channel_id),
            customer_id=customer.id if customer else None,
            email=email if email is not None else (customer.email if customer else None),
            shipping_address=_address(shipping_address),
            billing_address=_address(billing_address),
            metadata_=metadata,
        )
        session.add(cart)
        await session.flush()
        if items:
            await _add_items(session, cart=cart, region=region, items=items, new_cart=True)
        await _finish(uow, cart)
    return cart


def option_valid_for(option: ShippingOption, region: Region) -> bool:
    """An option serves its own region, or every region of its currency when it has none."""
    if option.deleted_at is not None:
        return False
    if option.region_id is not None:
        return option.region_id == region.id
    return option.currency_code == region.currency_code


def _options_for_region(region_id: str, currency_code: str) -> ColumnElement[bool]:
    return or_(
        ShippingOption.region_id == region_id,
        and_(ShippingOption.region_id.is_(None), ShippingOption.currency_code == currency_code),
    )


async def _change_region(session: AsyncSession, cart: Cart, region: Region) -> None:
    """Re-price every line in the new currency (400 naming a variant without a price) and drop
    the shipping methods the new region does not offer."""
    for line in await cart_items(session, cart.id):
        line.unit_price = await _price(session, line.variant_id, region.currency_code)
        line.is_tax_inclusive = region.tax_inclusive
    for method in await cart_shipping_methods(session, cart.id):
        option = await session.get(ShippingOption, method.shipping_option_id)
        if option is None or not option_valid_for(option, region):
            await session.delete(method)
        else:
            method.is_tax_inclusive = region.tax_inclusive
    cart.region_id = region.id
    cart.currency_code = region.currency_code


async def update_cart(
    uow: UnitOfWork, *, cart_id: str, customer: Customer | None, changes: dict[str, Any]
) -> Cart:
    """Email, addresses, metadata (replaced as given) and region (re-prices the lines)."""
    async with uow:
        session = uow.session
        cart = await lock_cart(session, cart_id, customer=customer)
        ensure_mutable(cart)
        if "region_id" in changes:
            region_id = changes.pop("region_id")
            if region_id is None:
                raise invalid("Invalid request: region_id: must not be null")
            if region_id != cart.region_id:
                await _change_region(session, cart, await _region(session, region_id))
        codes = changes.pop("promo_codes", None)
        for name, value in changes.items():
            if name in ("shipping_address", "billing_address"):
                value = _address(value)
            setattr(cart, "metadata_" if name == "metadata" else name, value)
        if codes is not None:
            await enter_codes(session, cart, replace=codes)
            await settle(uow, cart)
        else:
            await _finish(uow, cart)
    return cart


async def set_customer(uow: UnitOfWork, *, cart_id: str, customer: Customer) -> Cart:
    """Give the cart to the logged-in customer (and their email when the cart has none)."""
    async with uow:
        session = uow.session
        cart = await lock_cart(session, cart_id, customer=customer)
        ensure_mutable(cart)
        cart.customer_id = customer.id
        if cart.email is None:
            cart.email = customer.email
        await _finish(uow, cart)
    return cart


# ---------------------------------------------------------------------------------- shipping


async def list_shipping_options(
    session: AsyncSession, *, cart_id: str, customer: Customer | None
) -> list[ShippingOption]:
    """Options of the sellers with items in the cart that serve the cart's region; never
    return options."""
    cart = await get_cart(session, cart_id, customer=customer)
    sellers = select(CartLineItem.seller_id).where(CartLineItem.cart_id == cart.id)
    return list(
        await session.scalars(
            select(ShippingOption)
            .where(
                ShippingOption.deleted_at.is_(None),
                ShippingOption.is_return.is_(False),
                ShippingOption.seller_id.in_(sellers),
                _options_for_region(cart.region_id, cart.currency_code),
            )
            .order_by(ShippingOption.seller_id, ShippingOption.amount, ShippingOption.id)
        )
    )


async def add_shipping_method(
    uow: UnitOfWork,
    *,
    cart_id: str,
    customer: Customer | None,
    option_id: str,
    data: dict[str, Any] | None = None,
) -> Cart:
    """Choose a seller's option; it replaces that seller's previous method (one per seller)."""
    async with uow:
        session = uow.session
        cart = await lock_cart(session, cart_id, customer=customer)
        ensure_mutable(cart)
        option = await session.get(ShippingOption, option_id)
        if option is None or option.deleted_at is not None:
            raise not_found("Shipping option", option_id)
        if option.is_return:
            raise invalid(
                f"Shipping option {option_id} is a return option and cannot ship items to the "
                "customer"
            )
        region = await session.get(Region, cart.region_id)
        assert region is not None
        if not option_valid_for(option, region):
            raise invalid(f"Shipping option {option_id} is not available in region {region.id}")
        has_items = await session.scalar(
            select(CartLineItem.id)
            .where(CartLineItem.cart_id == cart.id, CartLineItem.seller_id == option.seller_id)
            .limit(1)
        )
        if has_items is None:
            raise invalid(
                f"Shipping option {option_id} belongs to seller {option.seller_id}, "
                "who has no items in the cart"
            )
        await session.execute(
            delete(CartShippingMethod).where(
                CartShippingMethod.cart_id == cart.id,
                CartShippingMethod.seller_id == option.seller_id,
            )
        )
        session.add(
            CartShippingMethod(
                cart_id=cart.id,
                shipping_option_id=option.id,
                seller_id=option.seller_id,
                name=option.name,
                amount=option.amount,
                is_tax_inclusive=region.tax_inclusive,
                data=data,
            )
        )
        await _finish(uow, cart)
    return cart
