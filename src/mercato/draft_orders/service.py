"""Draft order commands (order-changes.md §12), each one unit of work.

* :func:`create_draft_order`, :func:`update_draft_order`, :func:`delete_draft_order`: the
  operator's draft. Items with a variant follow the cart's rules (published, in the draft's
  sales channel, seller active, a price unless ``unit_price``, stock available); custom items
  name their title, price and seller and have no inventory; one shipping method per seller.
  Every write recomputes the items', methods' and draft's totals at the region's tax rate
  (:func:`reprice`). A ``completed`` draft refuses every change.
* :func:`convert_draft_order`: one transaction, starting with ``SELECT … FOR UPDATE`` on the
  draft (concurrent conversions queue there; the unique ``order_group.draft_order_id`` is the
  last line): an already converted draft answers its group and writes nothing; otherwise
  checkout's preconditions 1–4 and 6 (``domain.split`` with the draft's messages,
  ``checkout.placement.check_placeable``), stock reserved at each seller's location
  (``placement.reserve_stock``: all or nothing), the orders built and the group placed exactly
  as a checkout's (``placement.build_orders``, ``placement.place_group``) with — unless the
  total is 0 — one unpaid ``draft_order`` payment collection allocated per order, and the draft
  ``completed``. The customer pays that collection through the store (or the operator marks it
  paid): ``orders.change_payments``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.carts.service import SELLABLE, check_sellable, insufficient, option_valid_for
from mercato.checkout.placement import (
    Origin,
    Subject,
    build_orders,
    check_placeable,
    place_group,
    reserve_stock,
)
from mercato.customers.models import Customer
from mercato.domain import order_group as dom
from mercato.domain.limits import MAX_CART_AMOUNT
from mercato.domain.money import exact_major, field_minor
from mercato.domain.order_changes import ACTIVE_CHANGE_STATUSES
from mercato.domain.split import DRAFT_ORDER, split_cart
from mercato.domain.totals import (
    TaxRate,
    compute_document_totals,
    document_totals,
    item_line_totals,
    shipping_method_totals,
)
from mercato.draft_orders.models import DraftOrder, DraftOrderItem, DraftOrderShippingMethod
from mercato.errors import MercatoError, invalid, not_found
from mercato.orders.change_models import OrderChange
from mercato.payments.models import PaymentCollection
from mercato.regions.models import Region
from mercato.sales_channels.models import SalesChannel
from mercato.sellers.models import Seller
from mercato.shipping_options.models import ShippingOption
from mercato.unit_of_work import UnitOfWork

ENTITY = "Draft order"
CONTACT_REQUIRED = "Either email or customer_id must be provided"
TOTALS = (
    "item_total",
    "item_subtotal",
    "item_tax_total",
    "shipping_total",
    "shipping_subtotal",
    "shipping_tax_total",
    "subtotal",
    "tax_total",
    "discount_total",
    "total",
)


def converted(draft_id: str) -> MercatoError:
    return invalid(f"Draft order {draft_id} has been converted and cannot be changed")


# --------------------------------------------------------------------------- loading


async def _lock(session: AsyncSession, draft_id: str) -> DraftOrder:
    """``SELECT … FOR UPDATE`` the live draft (404 otherwise): every writer of a draft, and its
    conversion, starts here."""
    draft = await session.scalar(
        select(DraftOrder)
        .where(DraftOrder.id == draft_id, DraftOrder.deleted_at.is_(None))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if draft is None:
        raise not_found(ENTITY, draft_id)
    return draft


async def lock_mutable(session: AsyncSession, draft_id: str) -> DraftOrder:
    draft = await _lock(session, draft_id)
    if draft.status == "completed":
        raise converted(draft.id)
    return draft


async def items_of(session: AsyncSession, draft_id: str) -> list[DraftOrderItem]:
    return list(
        await session.scalars(
            select(DraftOrderItem)
            .where(DraftOrderItem.draft_order_id == draft_id)
            .order_by(DraftOrderItem.created_at, DraftOrderItem.id)
        )
    )


async def methods_of(session: AsyncSession, draft_id: str) -> list[DraftOrderShippingMethod]:
    return list(
        await session.scalars(
            select(DraftOrderShippingMethod)
            .where(DraftOrderShippingMethod.draft_order_id == draft_id)
            .order_by(DraftOrderShippingMethod.seller_id, DraftOrderShippingMethod.id)
        )
    )


# --------------------------------------------------------------------------- references


async def _region(session: AsyncSession, region_id: str) -> Region:
    region = await session.get(Region, region_id)
    if region is None or region.deleted_at is not None:
        raise invalid(f"Region with id {region_id} was not found")
    return region


async def _sales_channel(session: AsyncSession, channel_id: str | None) -> str:
    """The named channel, or the only one when none is named (order-changes.md §12)."""
    if channel_id is None:
        live = list(
            await session.scalars(
                select(SalesChannel.id).where(SalesChannel.deleted_at.is_(None)).limit(2)
            )
        )
        if len(live) != 1:
            raise invalid(
                "Invalid request: sales_channel_id: is required unless exactly one sales "
                "channel exists"
            )
        channel_id = live[0]
    channel = await session.get(SalesChannel, channel_id)
    if channel is None or channel.deleted_at is not None:
        raise invalid(f"Sales channel with id {channel_id} was not found")
    if channel.is_disabled:
        raise invalid(f"Sales channel {channel_id} is disabled")
    return channel_id


async def _customer(session: AsyncSession, customer_id: str) -> Customer:
    customer = await session.get(Customer, customer_id)
    if customer is None or customer.deleted_at is not None:
        raise invalid(f"Customer with id {customer_id} was not found")
    return customer


# --------------------------------------------------------------------------- items, shipping


def _stamp(base: Any, index: int) -> Any:
    """Creation times one microsecond apart: the items keep the order the body listed them in
    (they are read by ``created_at``, then id)."""
    return base + timedelta(microseconds=index)


async def new_items(
    session: AsyncSession,
    draft: DraftOrder,
    region: Region,
    items: Sequence[dict[str, Any]],
    *,
    now: Any,
) -> list[DraftOrderItem]:
    """The draft's lines for ``items`` (not added to the session), validated in order (400/404
    naming the first bad one); what the checks read comes from one statement for the variants
    and one for the sellers of custom items. The stock check sums the units asked of each
    variant."""
    currency = draft.currency_code
    variant_ids = list(dict.fromkeys(i["variant_id"] for i in items if i["variant_id"]))
    found = {}
    if variant_ids:
        found = {
            row.id: row
            for row in await SELLABLE.rows(
                session,
                variant_ids=variant_ids,
                channel_id=draft.sales_channel_id,
                currency_code=currency,
            )
        }
    seller_ids = {i["seller_id"] for i in items if not i["variant_id"] and i["seller_id"]}
    sellers = {}
    if seller_ids:
        sellers = {
            s.id: s for s in await session.scalars(select(Seller).where(Seller.id.in_(seller_ids)))
        }
    wanted: dict[str, int] = defaultdict(int)
    lines = []
    for index, item in enumerate(items):
        field = f"items.{index}"
        variant_id, quantity = item["variant_id"], item["quantity"]
        price = item["unit_price"]
        unit_price = None if price is None else field_minor(f"{field}.unit_price", price, currency)
        if variant_id is not None:
            row = check_sellable(
                found.get(variant_id),
                variant_id,
                sales_channel_id=draft.sales_channel_id,
                currency_code=currency,
                priced=unit_price is None,
            )
            if item["seller_id"] is not None and item["seller_id"] != row.seller_id:
                raise invalid(
                    f"Variant {variant_id} belongs to seller {row.seller_id}, not to seller "
                    f"{item['seller_id']}"
                )
            wanted[variant_id] += quantity
            managed = row.manage_inventory and not row.allow_backorder
            if managed and wanted[variant_id] > row.available:
                raise insufficient(variant_id, wanted[variant_id], row.available)
            line = DraftOrderItem(
                seller_id=row.seller_id,
                variant_id=variant_id,
                product_id=row.product_id,
                title=item["title"] or row.product_title,
                subtitle=row.title,
                thumbnail=row.product_thumbnail,
                product_title=row.product_title,
                product_handle=row.product_handle,
                variant_title=row.title,
                variant_sku=row.sku,
                unit_price=row.unit_price if unit_price is None else unit_price,
                requires_shipping=row.requires_shipping,
            )
        else:
            for name in ("title", "unit_price", "seller_id"):
                if item[name] is None:
                    raise invalid(
                        f"Invalid request: {field}.{name}: is required for an item without "
                        "variant_id"
                    )
            seller = sellers.get(item["seller_id"])
            if seller is None or seller.deleted_at is not None:
                raise invalid(f"Seller with id {item['seller_id']} was not found")
            if seller.status != "active":
                raise invalid(f"Seller {seller.id} is not active")
            assert unit_price is not None
            line = DraftOrderItem(
                seller_id=seller.id,
                title=item["title"],
                unit_price=unit_price,
                requires_shipping=True,
            )
        line.draft_order_id = draft.id
        line.currency_code = currency
        line.quantity = quantity
        line.is_tax_inclusive = region.tax_inclusive
        line.metadata_ = item.get("metadata")
        line.created_at = line.updated_at = _stamp(now, index)
        lines.append(line)
    return lines


async def new_shipping_methods(
    session: AsyncSession,
    draft: DraftOrder,
    region: Region,
    methods: Sequence[dict[str, Any]],
    sellers_with_items: set[str] | None,
) -> list[DraftOrderShippingMethod]:
    """One method per seller (a later one of the same seller replaces an earlier one, as in
    carts), not added to the session; the option must ship to the customer in the draft's
    region and belong to a seller with items in the draft (``sellers_with_items``; None: the
    caller checks that)."""
    if not methods:
        return []
    option_ids = list(dict.fromkeys(m["shipping_option_id"] for m in methods))
    options = {
        o.id: o
        for o in await session.scalars(
            select(ShippingOption).where(ShippingOption.id.in_(option_ids))
        )
    }
    chosen: dict[str, DraftOrderShippingMethod] = {}
    for index, method in enumerate(methods):
        option_id = method["shipping_option_id"]
        option = options.get(option_id)
        if option is None or option.deleted_at is not None:
            raise not_found("Shipping option", option_id)
        if option.is_return:
            raise invalid(
                f"Shipping option {option_id} is a return option and cannot ship items to the "
                "customer"
            )
        if not option_valid_for(option, region):
            raise invalid(f"Shipping option {option_id} is not available in region {region.id}")
        if sellers_with_items is not None and option.seller_id not in sellers_with_items:
            raise invalid(
                f"Shipping option {option_id} belongs to seller {option.seller_id}, who has no "
                "items in the draft order"
            )
        amount = method["amount"]
        chosen[option.seller_id] = DraftOrderShippingMethod(
            draft_order_id=draft.id,
            shipping_option_id=option.id,
            seller_id=option.seller_id,
            currency_code=draft.currency_code,
            name=method["name"] or option.name,
            amount=(
                option.amount
                if amount is None
                else field_minor(f"shipping_methods.{index}.amount", amount, draft.currency_code)
            ),
            is_tax_inclusive=region.tax_inclusive,
            data=method.get("data"),
        )
    return list(chosen.values())


def check_bound(draft: DraftOrder, amount: int) -> None:
    """400 when the draft's amount before tax passes the bound a cart has."""
    if amount > MAX_CART_AMOUNT:
        limit = exact_major(MAX_CART_AMOUNT, draft.currency_code)
        raise invalid(
            f"Draft order {draft.id} would amount to more than {limit} "
            f"{draft.currency_code.upper()} before tax, the largest order allowed"
        )


def reprice(
    draft: DraftOrder,
    tax_rate: TaxRate,
    items: Sequence[DraftOrderItem],
    methods: Sequence[DraftOrderShippingMethod],
) -> None:
    """Each item's and method's totals at ``tax_rate`` and the draft's document totals, as
    checkout computes them (per line, then sums: the sellers' totals add up exactly to the
    draft's); 400 when the draft's amount before tax passes the bound a cart has."""
    check_bound(
        draft, sum(i.unit_price * i.quantity for i in items) + sum(m.amount for m in methods)
    )
    item_totals = []
    for item in items:
        line = item_line_totals(item, tax_rate)
        item.subtotal, item.tax_total, item.total = line.subtotal, line.tax_total, line.total
        item_totals.append(line)
    method_totals = []
    for method in methods:
        line = shipping_method_totals(method, tax_rate)
        method.subtotal, method.tax_total, method.total = line.subtotal, line.tax_total, line.total
        method_totals.append(line)
    totals = document_totals(item_totals, method_totals)
    for name in TOTALS:
        setattr(draft, name, getattr(totals, name))


# --------------------------------------------------------------------------- commands


async def create_draft_order(
    uow: UnitOfWork,
    *,
    region_id: str,
    email: str | None = None,
    customer_id: str | None = None,
    sales_channel_id: str | None = None,
    currency_code: str | None = None,
    shipping_address: dict[str, Any] | None = None,
    billing_address: dict[str, Any] | None = None,
    items: Sequence[dict[str, Any]] = (),
    shipping_methods: Sequence[dict[str, Any]] = (),
    no_notification_order: bool = False,
    metadata: dict[str, Any] | None = None,
) -> str:
    """A ``draft`` draft order; returns its id. ``email`` defaults to the customer's."""
    if email is None and customer_id is None:
        raise invalid(CONTACT_REQUIRED)
    async with uow:
        session = uow.session
        region = await _region(session, region_id)
        if currency_code is not None and currency_code != region.currency_code:
            raise invalid(
                f"Invalid request: currency_code: must be the region's currency "
                f"({region.currency_code})"
            )
        channel_id = await _sales_channel(session, sales_channel_id)
        if customer_id is not None:
            customer = await _customer(session, customer_id)
            email = email if email is not None else customer.email
        draft = DraftOrder(
            id=uow.ids("dord"),
            status="draft",
            region_id=region.id,
            currency_code=region.currency_code,
            sales_channel_id=channel_id,
            customer_id=customer_id,
            email=email,
            shipping_address=shipping_address,
            billing_address=billing_address,
            no_notification_order=no_notification_order,
            metadata_=metadata,
        )
        session.add(draft)
        await session.flush()
        now = uow.now()
        lines = await new_items(session, draft, region, items, now=now)
        methods = await new_shipping_methods(
            session, draft, region, shipping_methods, {line.seller_id for line in lines}
        )
        session.add_all([*lines, *methods])
        reprice(draft, region.tax_rate, lines, methods)
        await uow.commit()
    return draft.id


async def update_draft_order(uow: UnitOfWork, *, draft_id: str, changes: dict[str, Any]) -> None:
    """Contact, customer, sales channel (the variant items must be sold there), addresses and
    metadata, as given; the draft must keep an email or a customer, and a draft left without
    an email takes its customer's."""
    async with uow:
        session = uow.session
        draft = await lock_mutable(session, draft_id)
        customer = None
        if changes.get("customer_id") is not None:
            customer = await _customer(session, changes["customer_id"])
        if "sales_channel_id" in changes:
            channel_id = await _sales_channel(session, changes.pop("sales_channel_id"))
            if channel_id != draft.sales_channel_id:
                await _check_channel(session, draft, channel_id)
                draft.sales_channel_id = channel_id
        for name, value in changes.items():
            setattr(draft, "metadata_" if name == "metadata" else name, value)
        if draft.email is None and draft.customer_id is not None:
            customer = customer or await _customer(session, draft.customer_id)
            draft.email = customer.email
        if draft.email is None and draft.customer_id is None:
            raise invalid(CONTACT_REQUIRED)
        draft.updated_at = uow.now()
        await uow.commit()


async def _check_channel(session: AsyncSession, draft: DraftOrder, channel_id: str) -> None:
    """Every variant item of the draft must be sold in ``channel_id`` (400 naming the first
    that is not)."""
    variant_ids = [i.variant_id for i in await items_of(session, draft.id) if i.variant_id]
    if not variant_ids:
        return
    rows = {
        row.id: row
        for row in await SELLABLE.rows(
            session,
            variant_ids=list(dict.fromkeys(variant_ids)),
            channel_id=channel_id,
            currency_code=draft.currency_code,
        )
    }
    for variant_id in variant_ids:
        row = rows.get(variant_id)
        if row is None or not row.in_channel:
            raise invalid(f"Variant {variant_id} is not available in sales channel {channel_id}")


async def delete_draft_order(uow: UnitOfWork, *, draft_id: str) -> None:
    """Soft delete; a converted draft stays (its group points at it)."""
    async with uow:
        draft = await lock_mutable(uow.session, draft_id)
        draft.deleted_at = uow.now()
        await uow.commit()


# --------------------------------------------------------------------------- conversion


async def active_edit(session: AsyncSession, draft_id: str) -> str | None:
    """The draft's active (pending or requested) change, if any."""
    found: str | None = await session.scalar(
        select(OrderChange.id).where(
            OrderChange.draft_order_id == draft_id,
            OrderChange.status.in_(ACTIVE_CHANGE_STATUSES),
        )
    )
    return found


async def convert_draft_order(uow: UnitOfWork, *, draft_id: str) -> str:
    """The draft's order group (created now, or the one an earlier conversion created: then
    nothing is written and no event raised); see the module docstring."""
    async with uow:
        session = uow.session
        draft = await _lock(session, draft_id)
        if draft.status == "completed":
            assert draft.order_group_id is not None
            return draft.order_group_id
        edit = await active_edit(session, draft.id)
        if edit is not None:
            raise invalid(f"Draft order {draft.id} has an active edit {edit}")
        items = await items_of(session, draft.id)
        methods = await methods_of(session, draft.id)
        if items and not draft.email:
            raise invalid(f"Draft order {draft.id} has no email; set one before converting it")
        drafts = split_cart(items, methods, DRAFT_ORDER)
        region = await session.get(Region, draft.region_id)
        assert region is not None, "draft_order.region_id is a foreign key"
        rate: Decimal = region.tax_rate
        reprice(draft, rate, items, methods)
        totals = {
            d.seller_id: compute_document_totals(d.lines, d.shipping_methods, rate) for d in drafts
        }
        subject = Subject("draft order", draft.id, "converted", "item")
        placeable = await check_placeable(session, subject, drafts, items)
        reserved = await reserve_stock(session, items, placeable)
        now = uow.now()
        total = sum(t.total for t in totals.values())
        collection = None
        if total > 0:
            row = PaymentCollection(
                id=uow.ids("pay_col"),
                source="draft_order",
                currency_code=draft.currency_code,
                amount=total,
                authorized_amount=0,
                captured_amount=0,
                refunded_amount=0,
                status="not_paid",
            )
            session.add(row)
            await session.flush()
            collection = dom.Collection(
                id=row.id, currency_code=row.currency_code, amount=total, status="not_paid"
            )
        origin = Origin(
            cart_id=None,
            draft_order_id=draft.id,
            customer_id=draft.customer_id,
            sales_channel_id=draft.sales_channel_id,
            currency_code=draft.currency_code,
            email=draft.email,
            region_id=draft.region_id,
            shipping_address=draft.shipping_address,
            billing_address=draft.billing_address,
            no_notification=draft.no_notification_order,
        )
        orders = build_orders(
            origin=origin,
            drafts=drafts,
            totals=totals,
            tax_rate=rate,
            locations=placeable.locations,
            reserved=reserved,
            ids=uow.ids,
        )
        group = await place_group(
            uow,
            origin=origin,
            orders=orders,
            collection=collection,
            payment=None,
            captured=False,
            now=now,
        )
        draft.status = "completed"
        draft.order_group_id = group.id
        draft.updated_at = now
        await uow.commit()
    return group.id
