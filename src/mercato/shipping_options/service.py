"""Shipping option commands: flat rates owned by a seller, priced in a region's currency."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.domain.money import field_minor
from mercato.errors import invalid
from mercato.query.listing import get_or_404
from mercato.regions.models import Region
from mercato.sellers.models import Seller
from mercato.shipping_options.models import ShippingOption
from mercato.unit_of_work import UnitOfWork

ENTITY = "Shipping option"


async def create_shipping_option(
    uow: UnitOfWork,
    *,
    name: str,
    seller_id: str,
    region_id: str | None,
    currency_code: str | None,
    amount: Decimal,
    data: dict[str, Any] | None,
    metadata: dict[str, Any] | None,
    is_return: bool = False,
) -> ShippingOption:
    """``currency_code`` defaults to the region's; without a region it is required (the option
    then serves every region of that currency)."""
    async with uow:
        option = await _new_option(
            uow,
            name=name,
            seller_id=seller_id,
            region_id=region_id,
            currency_code=currency_code,
            amount=amount,
            is_return=is_return,
            data=data,
            metadata=metadata,
        )
        await uow.commit()
    return option


async def _new_option(
    uow: UnitOfWork,
    *,
    name: str,
    seller_id: str,
    region_id: str | None,
    currency_code: str | None,
    amount: Decimal,
    is_return: bool,
    data: dict[str, Any] | None,
    metadata: dict[str, Any] | None,
) -> ShippingOption:
    session = uow.session
    seller = await session.get(Seller, seller_id)
    if seller is None or seller.deleted_at is not None:
        raise invalid(f"Seller with id {seller_id} was not found")
    if region_id is not None:
        region = await session.get(Region, region_id)
        if region is None or region.deleted_at is not None:
            raise invalid(f"Region with id {region_id} was not found")
        if currency_code is not None and currency_code != region.currency_code:
            raise invalid(
                f"Invalid request: currency_code: must be the region's currency ({region.currency_code})"
            )
        currency_code = region.currency_code
    elif currency_code is None:
        raise invalid("Invalid request: currency_code: is required when region_id is not set")
    option = ShippingOption(
        name=name,
        seller_id=seller_id,
        region_id=region_id,
        currency_code=currency_code,
        amount=field_minor("amount", amount, currency_code),
        is_return=is_return,
        data=data,
        metadata_=metadata,
    )
    session.add(option)
    return option


async def update_shipping_option(
    uow: UnitOfWork, *, option_id: str, changes: dict[str, Any]
) -> ShippingOption:
    async with uow:
        option = await get_or_404(uow.session, ShippingOption, ENTITY, option_id)
        for name in ("name", "amount", "is_return"):
            if name in changes and changes[name] is None:
                raise invalid(f"Invalid request: {name}: must not be null")
        if "amount" in changes:
            changes["amount"] = field_minor("amount", changes["amount"], option.currency_code)
        for name, value in changes.items():
            setattr(option, "metadata_" if name == "metadata" else name, value)
        await uow.commit()
    return option


async def delete_shipping_option(uow: UnitOfWork, *, option_id: str) -> None:
    async with uow:
        option = await get_or_404(uow.session, ShippingOption, ENTITY, option_id)
        option.deleted_at = datetime.now(UTC)
        await uow.commit()


async def list_return_options(
    session: AsyncSession, *, seller_id: str, region_id: str, currency_code: str
) -> list[ShippingOption]:
    """The seller's live return options serving the region: its own, or every region of its
    currency (order-changes.md §10, ``GET /store/return-shipping-options``)."""
    return list(
        await session.scalars(
            select(ShippingOption)
            .where(
                ShippingOption.deleted_at.is_(None),
                ShippingOption.is_return.is_(True),
                ShippingOption.seller_id == seller_id,
                or_(
                    ShippingOption.region_id == region_id,
                    and_(
                        ShippingOption.region_id.is_(None),
                        ShippingOption.currency_code == currency_code,
                    ),
                ),
            )
            .order_by(ShippingOption.amount, ShippingOption.id)
        )
    )
