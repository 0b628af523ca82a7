"""Placing an order group from split lines: what cart completion (``checkout.service``) and
draft order conversion (``draft_orders.service``) share, so both split, check, reserve and
allocate the same way (checkout.md, order-changes.md §12).

* :func:`check_placeable`: every seller of the split is active, every line's variant still
  exists (precondition 6 of checkout.md, stock aside); returns what placement needs.
* :func:`reserve_stock`: conditional increments of ``reserved_quantity`` at each seller's stock
  location, one per (location, variant) in that order (no deadlock, never oversold): a level
  short of stock refuses the whole placement with the insufficient-inventory 400.
* :func:`build_orders`: one :class:`~mercato.domain.order_group.Order` per split draft, its
  lines (snapshots copied, totals at the region's rate), its seller's shipping method and the
  reservations of what was reserved.
* :func:`place_group`: :meth:`OrderGroup.place <mercato.domain.order_group.OrderGroup.place>`
  (statuses, totals, each order's share of the collection) written by
  :meth:`OrderGroupRepository.add <mercato.orders.repository.OrderGroupRepository.add>`, its
  events to the unit of work's outbox.

Lines and shipping methods are read by attribute (a cart's or a draft's rows): ``id``,
``seller_id``, ``variant_id`` (None for a draft's custom item), ``product_id``, ``quantity``,
``unit_price``, ``requires_shipping``, ``is_tax_inclusive``, the snapshot columns; methods
``seller_id``, ``name``, ``amount``, ``is_tax_inclusive``, ``shipping_option_id``, ``data``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Integer, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.domain import order_group as dom
from mercato.domain.split import SellerOrderDraft
from mercato.domain.totals import DocumentTotals, LineTotals, TaxRate, discounted_line_totals
from mercato.errors import MercatoError, invalid, not_allowed
from mercato.orders.repository import OrderGroupRepository
from mercato.products.models import InventoryLevel, ProductVariant
from mercato.query.driver import FixedQuery, driver_connection, keys_param, rows_of
from mercato.sellers.models import Seller, StockLocation
from mercato.unit_of_work import UnitOfWork

Draft = SellerOrderDraft[Any, Any]


@dataclass(frozen=True)
class Subject:
    """What is placed, as the precondition messages name it: ``cart <id> cannot be
    completed`` / ``draft order <id> cannot be converted``, ``line item`` / ``item``."""

    noun: str
    id: str
    verb: str
    line_noun: str


@dataclass(frozen=True)
class Origin:
    """Where a group comes from (its cart or draft order) and what its orders copy from it."""

    cart_id: str | None
    draft_order_id: str | None
    customer_id: str | None
    sales_channel_id: str
    currency_code: str
    email: str | None
    region_id: str
    shipping_address: dict[str, Any] | None
    billing_address: dict[str, Any] | None
    no_notification: bool = False


@dataclass(frozen=True)
class Placeable:
    """What :func:`check_placeable` read: variants by id, each seller's stock location."""

    variants: dict[str, Any]
    locations: dict[str, str]


_SELLERS = FixedQuery(rows_of(Seller, ("id", "status", "deleted_at")).where(keys_param(Seller.id)))
_VARIANTS = FixedQuery(
    rows_of(ProductVariant, ("id", "manage_inventory", "allow_backorder")).where(
        keys_param(ProductVariant.id), ProductVariant.deleted_at.is_(None)
    )
)
_LOCATIONS = FixedQuery(
    select(StockLocation.seller_id, StockLocation.id).where(keys_param(StockLocation.seller_id))
)


async def check_placeable(
    session: AsyncSession, subject: Subject, drafts: Sequence[Draft], lines: Sequence[Any]
) -> Placeable:
    """400 unless every seller of ``drafts`` is active and every line's variant still exists
    (a custom line has none); nothing is written."""
    driver = await driver_connection(session)
    seller_ids = sorted({d.seller_id for d in drafts})
    sellers = {s.id: s for s in await _SELLERS.rows(session, connection=driver, keys=seller_ids)}
    for seller_id in seller_ids:
        seller = sellers.get(seller_id)
        if seller is None or seller.deleted_at is not None or seller.status != "active":
            raise not_allowed(
                f"Seller {seller_id} is not active; {subject.noun} {subject.id} cannot be "
                f"{subject.verb}"
            )
    variant_ids = sorted({line.variant_id for line in lines if line.variant_id is not None})
    variants = {v.id: v for v in await _VARIANTS.rows(session, connection=driver, keys=variant_ids)}
    for line in lines:
        if line.variant_id is not None and line.variant_id not in variants:
            raise invalid(
                f"Variant {line.variant_id} of {subject.line_noun} {line.id} is no longer available"
            )
    locations = dict(await _LOCATIONS.rows(session, connection=driver, keys=seller_ids))
    return Placeable(variants, locations)


def insufficient(variant_id: str) -> MercatoError:
    return not_allowed(
        f"Variant {variant_id} does not have the required inventory", code="insufficient_inventory"
    )


# A conditional increment of one level's reservations: no row when the stock is short.
_RESERVE = FixedQuery(
    update(InventoryLevel)
    .where(
        InventoryLevel.location_id == bindparam("location_id"),
        InventoryLevel.variant_id == bindparam("variant_id"),
        or_(
            InventoryLevel.stocked_quantity - InventoryLevel.reserved_quantity
            >= bindparam("quantity", type_=Integer),
            bindparam("backorder", type_=Boolean),
        ),
    )
    .values(
        reserved_quantity=InventoryLevel.reserved_quantity + bindparam("quantity", type_=Integer),
        updated_at=func.now(),
    )
    .returning(InventoryLevel.id)
)
# Compensation: what a run reserved is given back.
RELEASE = FixedQuery(
    update(InventoryLevel)
    .where(
        InventoryLevel.location_id == bindparam("location_id"),
        InventoryLevel.variant_id == bindparam("variant_id"),
    )
    .values(
        reserved_quantity=InventoryLevel.reserved_quantity - bindparam("quantity", type_=Integer),
        updated_at=func.now(),
    )
)


async def reserve_stock(
    session: AsyncSession, lines: Sequence[Any], placeable: Placeable
) -> dict[tuple[str, str], int]:
    """Conditional increments of ``reserved_quantity``, one per (location, variant), sorted;
    returns what was reserved, in that order. Lines without a variant or whose variant does not
    manage inventory reserve nothing."""
    wanted: dict[tuple[str, str], int] = defaultdict(int)
    backorder: dict[str, bool] = {}
    for line in lines:
        if line.variant_id is None:
            continue
        variant = placeable.variants[line.variant_id]
        if variant.manage_inventory:
            wanted[(placeable.locations[line.seller_id], variant.id)] += line.quantity
            backorder[variant.id] = variant.allow_backorder
    driver = await driver_connection(session)
    reserved = dict(sorted(wanted.items()))
    for (location_id, variant_id), quantity in reserved.items():
        done = await _RESERVE.records(
            session,
            connection=driver,
            location_id=location_id,
            variant_id=variant_id,
            quantity=quantity,
            backorder=backorder[variant_id],
        )
        if not done:
            raise insufficient(variant_id)
    return reserved


def _adjusted(
    amount: int,
    inclusive: bool,
    rate: TaxRate,
    adjustments: Sequence[Any],
    ids: dom.IdFactory,
    prefix: str,
) -> tuple[LineTotals, list[dom.Adjustment]]:
    """A line's (or method's) totals after its cart adjustments, and the adjustments copied
    with their tax split (promotions.md: copied, not recomputed)."""
    split = discounted_line_totals(amount, [a.amount for a in adjustments], rate, inclusive)
    copied = [
        dom.Adjustment(
            id=ids(prefix),
            promotion_id=a.promotion_id,
            code=a.code,
            amount=a.amount,
            subtotal=part.subtotal,
            tax_total=part.tax_total,
            total=part.total,
            is_tax_inclusive=a.is_tax_inclusive,
            funded_by=a.funded_by,
            seller_id=a.seller_id,
            position=a.position,
            description=a.description,
        )
        for a, part in zip(adjustments, split.adjustments, strict=True)
    ]
    return split.line, copied


def build_orders(
    *,
    origin: Origin,
    drafts: Sequence[Draft],
    totals: dict[str, DocumentTotals],
    tax_rate: TaxRate,
    locations: dict[str, str],
    reserved: dict[tuple[str, str], int],
    ids: dom.IdFactory,
    adjustments: Mapping[str, Sequence[Any]] | None = None,
) -> list[dom.Order]:
    """One order per draft (seller): its lines and shipping methods copied, its totals
    (``totals`` per seller), and the stock ``reserved`` turned into the lines' reservations
    (each line of a managed variant holds its quantity at its seller's location); a mismatch
    refuses the placement. A cart line's id is kept as ``cart_line_item_id``.

    ``adjustments``: the cart's adjustment rows by line or method id, in stacking order
    (``position``, ``promotion_id``, ``code``, ``description``, ``amount``,
    ``is_tax_inclusive``, ``funded_by``, ``seller_id``)."""
    adjustments = adjustments or {}
    left = dict(reserved)
    subject = origin.cart_id or origin.draft_order_id
    orders = []
    for draft in drafts:
        location = locations.get(draft.seller_id)
        order = dom.Order(
            id=ids("order"),
            seller_id=draft.seller_id,
            currency_code=origin.currency_code,
            status="pending",
            totals=totals[draft.seller_id],
            location_id=location,
            no_notification=origin.no_notification,
            snapshot={
                "email": origin.email,
                "region_id": origin.region_id,
                "shipping_address": origin.shipping_address,
                "billing_address": origin.billing_address,
            },
        )
        for line in draft.lines:
            line_totals, line_adjustments = _adjusted(
                line.unit_price * line.quantity,
                line.is_tax_inclusive,
                tax_rate,
                adjustments.get(line.id, ()),
                ids,
                "ordliadj",
            )
            order_line = dom.Line(
                id=ids("ordli"),
                quantity=line.quantity,
                unit_price=line.unit_price,
                subtotal=line_totals.subtotal,
                tax_total=line_totals.tax_total,
                total=line_totals.total,
                discount_subtotal=line_totals.discount_subtotal,
                discount_tax_total=line_totals.discount_tax_total,
                discount_total=line_totals.discount_total,
                adjustments=line_adjustments,
                requires_shipping=line.requires_shipping,
                is_tax_inclusive=line.is_tax_inclusive,
                variant_id=line.variant_id,
                product_id=line.product_id,
                snapshot={
                    "cart_line_item_id": line.id if origin.cart_id is not None else None,
                    "title": line.title,
                    "subtitle": line.subtitle,
                    "thumbnail": line.thumbnail,
                    # A draft's custom item has no product or variant to name.
                    "product_title": line.product_title or "",
                    "product_handle": line.product_handle or "",
                    "variant_title": line.variant_title or "",
                    "variant_sku": line.variant_sku,
                    "currency_code": origin.currency_code,
                    "metadata_": line.metadata_,
                },
            )
            order.lines.append(order_line)
            held = 0 if location is None else left.get((location, line.variant_id), 0)
            if location is not None and held:
                if held < line.quantity:
                    raise RuntimeError(f"{subject}: reserved stock does not match its lines")
                left[(location, line.variant_id)] = held - line.quantity
                order.reservations.append(
                    dom.Reservation(
                        ids("resitem"), order_line.id, line.variant_id, location, line.quantity
                    )
                )
        for method in draft.shipping_methods:
            method_totals, method_adjustments = _adjusted(
                method.amount,
                method.is_tax_inclusive,
                tax_rate,
                adjustments.get(method.id, ()),
                ids,
                "ordsmadj",
            )
            order.shipping_methods.append(
                dom.ShippingMethod(
                    id=ids("ordsm"),
                    seller_id=method.seller_id,
                    name=method.name,
                    amount=method.amount,
                    subtotal=method_totals.subtotal,
                    tax_total=method_totals.tax_total,
                    total=method_totals.total,
                    discount_subtotal=method_totals.discount_subtotal,
                    discount_tax_total=method_totals.discount_tax_total,
                    discount_total=method_totals.discount_total,
                    adjustments=method_adjustments,
                    is_tax_inclusive=method.is_tax_inclusive,
                    shipping_option_id=method.shipping_option_id,
                    data=method.data,
                )
            )
        orders.append(order)
    if any(left.values()):
        raise RuntimeError(f"{subject}: reserved stock does not match its lines")
    return orders


async def place_group(
    uow: UnitOfWork,
    *,
    origin: Origin,
    orders: list[dom.Order],
    collection: dom.Collection | None,
    payment: dom.Payment | None,
    captured: bool,
    now: datetime,
) -> dom.OrderGroup:
    """Place the group of ``orders`` (each order's share of ``collection`` = its total; with
    ``payment`` the collection authorized, captured at once when ``captured``) and write it in
    the unit of work's transaction; its events go to that transaction's outbox."""
    group = dom.OrderGroup.place(
        group_id=uow.ids("og"),
        cart_id=origin.cart_id,
        customer_id=origin.customer_id,
        sales_channel_id=origin.sales_channel_id,
        currency_code=origin.currency_code,
        orders=orders,
        collection=collection,
        payment=payment,
        captured=captured,
        ids=uow.ids,
        now=now,
        draft_order_id=origin.draft_order_id,
    )
    await OrderGroupRepository(uow.session).add(group)
    uow.track(group)
    return group
