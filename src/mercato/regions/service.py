"""Region commands: currency, tax and the payment providers a cart in the region may use."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.domain.payments import PP_SYSTEM_DEFAULT, PROVIDER_IDS
from mercato.errors import invalid
from mercato.query.listing import get_or_404
from mercato.regions.models import Region
from mercato.stores.service import add_region_currency, clear_default
from mercato.unit_of_work import UnitOfWork


def _check_providers(providers: list[str]) -> list[str]:
    unknown = [p for p in providers if p not in PROVIDER_IDS]
    if unknown:
        raise invalid(f"Payment providers with ids {', '.join(unknown)} were not found")
    return list(dict.fromkeys(providers))


async def _check_countries(
    session: AsyncSession, countries: list[str], *, except_id: str | None = None
) -> list[str]:
    countries = list(dict.fromkeys(countries))
    if not countries:
        return countries
    query = select(Region.countries).where(
        Region.deleted_at.is_(None), Region.countries.overlap(countries)
    )
    if except_id:
        query = query.where(Region.id != except_id)
    taken = sorted({c for row in await session.scalars(query) for c in row} & set(countries))
    if taken:
        raise invalid(f"Countries with codes: {', '.join(taken)} are already assigned to a region")
    return countries


async def create_region(
    uow: UnitOfWork,
    *,
    countries: list[str],
    payment_providers: list[str] | None,
    metadata: dict[str, Any] | None,
    **fields: Any,
) -> Region:
    async with uow:
        region = Region(
            countries=await _check_countries(uow.session, countries),
            payment_providers=_check_providers(payment_providers or [PP_SYSTEM_DEFAULT]),
            metadata_=metadata,
            **fields,
        )
        uow.session.add(region)
        await add_region_currency(uow.session, region.currency_code)
        await uow.commit()
    return region


async def update_region(uow: UnitOfWork, *, region_id: str, changes: dict[str, Any]) -> Region:
    async with uow:
        region = await get_or_404(uow.session, Region, "Region", region_id)
        for name in (
            "name",
            "currency_code",
            "tax_rate",
            "tax_inclusive",
            "countries",
            "payment_providers",
        ):
            if name in changes and changes[name] is None:
                raise invalid(f"Invalid request: {name}: must not be null")
        if "countries" in changes:
            changes["countries"] = await _check_countries(
                uow.session, changes["countries"], except_id=region.id
            )
        if "payment_providers" in changes:
            changes["payment_providers"] = _check_providers(changes["payment_providers"])
        for name, value in changes.items():
            setattr(region, "metadata_" if name == "metadata" else name, value)
        if "currency_code" in changes:
            await add_region_currency(uow.session, region.currency_code)
        await uow.commit()
    return region


async def delete_region(uow: UnitOfWork, *, region_id: str) -> None:
    async with uow:
        region = await get_or_404(uow.session, Region, "Region", region_id)
        region.deleted_at = datetime.now(UTC)
        await clear_default(uow.session, "default_region_id", region.id)
        await uow.commit()
