"""Product commands: a product belongs to one seller; variants carry prices (minor units) and
stock at the seller's stock location. Each command is one unit of work."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.auth.service import commit_unique, flush_unique
from mercato.db.handles import free_handle
from mercato.domain.money import to_minor
from mercato.errors import duplicate, invalid
from mercato.http.text import INVALID_HANDLE, is_handle, kebab
from mercato.products.models import (
    InventoryLevel,
    Price,
    Product,
    ProductSalesChannel,
    ProductVariant,
)
from mercato.query.listing import get_or_404
from mercato.sales_channels.service import require_channels
from mercato.sellers.models import Seller, StockLocation
from mercato.unit_of_work import UnitOfWork


async def _product(session: AsyncSession, product_id: str) -> Product:
    return await get_or_404(session, Product, "Product", product_id)


async def _variant(session: AsyncSession, product_id: str, variant_id: str) -> ProductVariant:
    """The live variant of a live product (404 naming whichever is missing)."""
    await _product(session, product_id)
    return await get_or_404(
        session, ProductVariant, "Variant", variant_id, ProductVariant.product_id == product_id
    )


async def _seller_location(session: AsyncSession, seller_id: str) -> str:
    seller = await session.get(Seller, seller_id)
    if seller is None or seller.deleted_at is not None:
        raise invalid(f"Seller with id {seller_id} was not found")
    location_id = await session.scalar(
        select(StockLocation.id).where(StockLocation.seller_id == seller_id)
    )
    assert location_id is not None, "every seller is created with a stock location"
    return location_id


async def _check_handle(session: AsyncSession, handle: str, *, except_id: str | None = None) -> str:
    if not is_handle(handle):
        raise invalid(INVALID_HANDLE)
    query = select(Product.id).where(Product.handle == handle, Product.deleted_at.is_(None))
    if except_id:
        query = query.where(Product.id != except_id)
    if await session.scalar(query):
        raise duplicate(f"Product with handle {handle} already exists")
    return handle


async def _check_sku(
    session: AsyncSession, sku: str | None, *, except_id: str | None = None
) -> None:
    if sku is None:
        return
    query = select(ProductVariant.id).where(
        ProductVariant.sku == sku, ProductVariant.deleted_at.is_(None)
    )
    if except_id:
        query = query.where(ProductVariant.id != except_id)
    if await session.scalar(query):
        raise duplicate(f"Variant with sku {sku} already exists")


def _prices(variant_id: str, prices: list[dict[str, Any]]) -> list[Price]:
    currencies = [p["currency_code"] for p in prices]
    if len(set(currencies)) != len(currencies):
        raise invalid("Invalid request: prices: a variant has at most one price per currency")
    return [
        Price(
            variant_id=variant_id,
            currency_code=p["currency_code"],
            amount=to_minor(p["amount"], p["currency_code"]),
        )
        for p in prices
    ]


async def _add_variant(
    session: AsyncSession, *, product: Product, location_id: str, rank: int, data: dict[str, Any]
) -> ProductVariant:
    await _check_sku(session, data.get("sku"))
    variant = ProductVariant(
        product_id=product.id,
        title=data["title"],
        sku=data.get("sku"),
        manage_inventory=data["manage_inventory"],
        allow_backorder=data["allow_backorder"],
        requires_shipping=data["requires_shipping"],
        rank=rank,
        metadata_=data.get("metadata"),
    )
    session.add(variant)
    await session.flush()
    session.add_all(_prices(variant.id, data["prices"]))
    session.add(
        InventoryLevel(
            variant_id=variant.id,
            location_id=location_id,
            stocked_quantity=data["inventory_quantity"],
        )
    )
    return variant


async def create_product(
    uow: UnitOfWork,
    *,
    seller_id: str,
    variants: list[dict[str, Any]],
    sales_channels: list[dict[str, str]],
    handle: str | None,
    metadata: dict[str, Any] | None,
    **fields: Any,
) -> Product:
    async with uow:
        session = uow.session
        location_id = await _seller_location(session, seller_id)
        if handle is None:  # derived: a taken one gets a suffix
            handle = await free_handle(session, Product, kebab(fields["title"], fallback="product"))
        else:  # chosen: a taken one is a 422
            handle = await _check_handle(session, handle)
        channel_ids = await require_channels(session, [c["id"] for c in sales_channels])
        product = Product(seller_id=seller_id, handle=handle, metadata_=metadata, **fields)
        session.add(product)
        await flush_unique(session, f"Product with handle {handle} already exists")
        session.add_all(
            ProductSalesChannel(product_id=product.id, sales_channel_id=sc) for sc in channel_ids
        )
        for rank, data in enumerate(variants):
            await _add_variant(
                session, product=product, location_id=location_id, rank=rank, data=data
            )
        await commit_unique(uow, f"Product with handle {handle} or one of its skus already exists")
    return product


async def update_product(uow: UnitOfWork, *, product_id: str, changes: dict[str, Any]) -> Product:
    async with uow:
        session = uow.session
        product = await _product(session, product_id)
        for name in ("title", "handle", "status"):
            if name in changes and changes[name] is None:
                raise invalid(f"Invalid request: {name}: must not be null")
        if "handle" in changes:
            await _check_handle(session, changes["handle"], except_id=product.id)
        if "sales_channels" in changes:
            channels = changes.pop("sales_channels")
            channel_ids = await require_channels(session, [c["id"] for c in channels or []])
            await session.execute(
                delete(ProductSalesChannel).where(ProductSalesChannel.product_id == product.id)
            )
            session.add_all(
                ProductSalesChannel(product_id=product.id, sales_channel_id=sc)
                for sc in channel_ids
            )
        for name, value in changes.items():
            setattr(product, "metadata_" if name == "metadata" else name, value)
        product.updated_at = datetime.now(UTC)
        await commit_unique(uow, f"Product with handle {product.handle} already exists")
    return product


async def delete_product(uow: UnitOfWork, *, product_id: str) -> None:
    async with uow:
        session = uow.session
        product = await _product(session, product_id)
        now = datetime.now(UTC)
        product.deleted_at = now
        for variant in await session.scalars(
            select(ProductVariant).where(ProductVariant.product_id == product.id)
        ):
            variant.deleted_at = now
        await uow.commit()


async def add_variant(uow: UnitOfWork, *, product_id: str, data: dict[str, Any]) -> Product:
    """Add a variant (with its prices and stock); returns its product."""
    async with uow:
        session = uow.session
        product = await _product(session, product_id)
        location_id = await _seller_location(session, product.seller_id)
        rank = len(
            list(
                await session.scalars(
                    select(ProductVariant.id).where(ProductVariant.product_id == product.id)
                )
            )
        )
        await _add_variant(session, product=product, location_id=location_id, rank=rank, data=data)
        await commit_unique(uow, f"Variant with sku {data.get('sku')} already exists")
    return product


async def update_variant(
    uow: UnitOfWork, *, product_id: str, variant_id: str, changes: dict[str, Any]
) -> Product:
    """Change a variant's price, stock or flags; returns its product."""
    async with uow:
        session = uow.session
        variant = await _variant(session, product_id, variant_id)
        for name in (
            "title",
            "manage_inventory",
            "allow_backorder",
            "requires_shipping",
            "prices",
            "inventory_quantity",
        ):
            if name in changes and changes[name] is None:
                raise invalid(f"Invalid request: {name}: must not be null")
        if "sku" in changes:
            await _check_sku(session, changes["sku"], except_id=variant.id)
        if "prices" in changes:
            new_prices = _prices(variant.id, changes.pop("prices"))
            await session.execute(delete(Price).where(Price.variant_id == variant.id))
            session.add_all(new_prices)
        if "inventory_quantity" in changes:
            stocked = changes.pop("inventory_quantity")
            level = await session.scalar(
                select(InventoryLevel)
                .where(InventoryLevel.variant_id == variant.id)
                .with_for_update()
            )
            assert level is not None
            if stocked < level.reserved_quantity:
                raise invalid(
                    f"Invalid request: inventory_quantity: {stocked} is less than the "
                    f"{level.reserved_quantity} units already reserved"
                )
            level.stocked_quantity = stocked
        for name, value in changes.items():
            setattr(variant, "metadata_" if name == "metadata" else name, value)
        variant.updated_at = datetime.now(UTC)
        product = await _product(session, product_id)
        await commit_unique(uow, f"Variant with sku {variant.sku} already exists")
    return product


async def delete_variant(uow: UnitOfWork, *, product_id: str, variant_id: str) -> None:
    async with uow:
        variant = await _variant(uow.session, product_id, variant_id)
        variant.deleted_at = datetime.now(UTC)
        await uow.commit()
