"""Exchange and claim commands (order-changes.md §7, §8): load the order's group locked, read
what the rule needs (shipping options, variants, the region's tax, return reasons), apply one
rule of :mod:`mercato.domain.exchanges` / :mod:`mercato.domain.claims`, save, commit.

Each command returns what its route renders: the order, its preview with the active change
applied, and the exchange or claim (and its return)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.domain import returns as flows
from mercato.domain.exchanges import Tax, VariantQuote
from mercato.domain.money import field_minor
from mercato.domain.order_changes import active_change
from mercato.domain.order_group import Order, OrderGroup
from mercato.errors import not_found
from mercato.orders.change_models import OrderClaim, OrderExchange
from mercato.orders.repository import OrderGroupRepository
from mercato.orders.returns_service import shipping_quote
from mercato.products.models import InventoryLevel, Price, Product, ProductVariant
from mercato.regions.models import Region
from mercato.return_reasons.service import check_reasons
from mercato.sellers.models import Seller
from mercato.unit_of_work import UnitOfWork

Rule = Callable[[OrderGroup, flows.Actor], Any]
Before = Callable[[AsyncSession, OrderGroup, Order], Awaitable[None]]


@dataclass(frozen=True)
class Outcome:
    """The order, its preview (the order itself once nothing is pending), the exchange or
    claim and its return."""

    order_id: str
    preview: Order | None
    owner_id: str
    return_id: str | None
    change_id: str | None


_MODELS: dict[str, Any] = {"exchange": OrderExchange, "claim": OrderClaim}
_NAMES = {"exchange": "Exchange", "claim": "Claim"}


async def order_of(
    session: AsyncSession, kind: str, owner_id: str, *, seller_id: str | None = None
) -> str:
    """The order of exchange or claim ``owner_id`` (404 outside the seller's scope)."""
    model = _MODELS[kind]
    query = select(model.order_id).where(model.id == owner_id)
    if seller_id is not None:
        query = query.where(model.seller_id == seller_id)
    order_id = await session.scalar(query)
    if order_id is None:
        raise not_found(_NAMES[kind], owner_id)
    return order_id


async def run(
    uow: UnitOfWork,
    kind: str,
    rule: Rule,
    *,
    owner_id: str | None = None,
    order_id: str | None = None,
    actor_id: str | None,
    seller_id: str | None,
    before: Before | None = None,
) -> Outcome:
    """One command on the exchange or claim ``owner_id`` (or, to begin one, on ``order_id``):
    ``rule`` returns the exchange or claim it worked on."""
    async with uow:
        if order_id is None:
            assert owner_id is not None
            order_id = await order_of(uow.session, kind, owner_id, seller_id=seller_id)
        groups = OrderGroupRepository(uow.session)
        group = await groups.for_order(order_id, seller_id=seller_id)
        actor = flows.Actor(actor_id, uow.now(), uow.ids)
        if before is not None:
            await before(uow.session, group, group.order(order_id))
        owner = rule(group, actor)
        await groups.save(group)
        uow.track(group)
        await uow.commit()
        order = group.order(order_id)
        active = active_change(order)
        preview = flows.preview_order(group, order, actor) if active is not None else order
        owner_id = owner_id or owner.id
        owners: list[Any] = [*order.exchanges, *order.claims]
        found = next(o for o in owners if o.id == owner_id)
        return Outcome(order_id, preview, found.id, found.return_id, active.id if active else None)


# --------------------------------------------------------------------------- what rules read


def reasons_checked(reason_ids: Iterable[str | None]) -> Before:
    ids = list(reason_ids)

    async def check(session: AsyncSession, group: OrderGroup, order: Order) -> None:
        await check_reasons(session, ids, order_id=order.id)

    return check


def option_loaded(option_id: str, into: list[flows.ShippingQuote]) -> Before:
    async def load(session: AsyncSession, group: OrderGroup, order: Order) -> None:
        into.append(await shipping_quote(session, option_id, order))

    return load


def minor(name: str, value: Decimal | None, order: Order) -> int | None:
    return None if value is None else field_minor(name, value, order.currency_code)


async def tax_of(session: AsyncSession, order: Order) -> Tax:
    region = await session.get(Region, order.region_id)
    assert region is not None
    return Tax(region.tax_rate, region.tax_inclusive)


async def variant_quotes(
    session: AsyncSession, variant_ids: Iterable[str], order: Order
) -> dict[str, VariantQuote]:
    """The variants as outbound lines of ``order`` need them (404 for an unknown one)."""
    ids = sorted(set(variant_ids))
    price = (
        select(Price.amount)
        .where(Price.variant_id == ProductVariant.id, Price.currency_code == order.currency_code)
        .limit(1)
        .scalar_subquery()
    )
    rows = (
        await session.execute(
            select(ProductVariant, Product, Seller, price.label("unit_price"), InventoryLevel)
            .join(Product, Product.id == ProductVariant.product_id)
            .outerjoin(Seller, Seller.id == Product.seller_id)
            .outerjoin(
                InventoryLevel,
                and_(
                    InventoryLevel.variant_id == ProductVariant.id,
                    InventoryLevel.location_id == order.location_id,
                ),
            )
            .where(
                ProductVariant.id.in_(ids),
                ProductVariant.deleted_at.is_(None),
                Product.deleted_at.is_(None),
            )
        )
    ).all()
    quotes: dict[str, VariantQuote] = {}
    for variant, product, seller, unit_price, level in rows:
        quotes[variant.id] = VariantQuote(
            id=variant.id,
            seller_id=product.seller_id,
            product_id=product.id,
            published=product.status == "published",
            seller_active=seller is not None
            and seller.deleted_at is None
            and seller.status == "active",
            unit_price=unit_price,
            manage_inventory=variant.manage_inventory,
            allow_backorder=variant.allow_backorder,
            requires_shipping=variant.requires_shipping,
            available=(level.stocked_quantity - level.reserved_quantity) if level else 0,
            snapshot={
                "title": product.title,
                "subtitle": variant.title,
                "thumbnail": product.thumbnail,
                "product_title": product.title,
                "product_handle": product.handle,
                "variant_title": variant.title,
                "variant_sku": variant.sku,
            },
        )
    for variant_id in ids:
        if variant_id not in quotes:
            raise not_found("Variant", variant_id)
    return quotes


def variants_loaded(
    variant_ids: Iterable[str], quotes: dict[str, VariantQuote], taxes: list[Tax]
) -> Before:
    ids = list(variant_ids)

    async def load(session: AsyncSession, group: OrderGroup, order: Order) -> None:
        quotes.update(await variant_quotes(session, ids, order))
        taxes.append(await tax_of(session, order))

    return load


def variant_of_action(action_id: str, kind: str, owner_id: str, into: dict) -> Before:
    """The variant of outbound action ``action_id`` (if the change has it), for its update."""

    async def load(session: AsyncSession, group: OrderGroup, order: Order) -> None:
        change = active_change(order)
        if change is None:
            return
        found = [a for a in change.actions if a.id == action_id and a.action == "ITEM_ADD"]
        if found:
            into.update(await variant_quotes(session, [found[0].details["variant_id"]], order))

    return load
