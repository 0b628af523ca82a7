"""Store commands (admin-dashboard.md §3): the installation's one store and its currencies.

Regions and sales channels call :func:`add_region_currency` and :func:`clear_default` in their
own transactions, so the store package must not import theirs: it reads their tables by name
(:data:`_REGION`, :data:`_SALES_CHANNEL`, :data:`_STOCK_LOCATION`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import column, delete, select, table, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.domain.currencies import currency
from mercato.errors import invalid, not_found
from mercato.stores.models import Store, StoreCurrency
from mercato.unit_of_work import UnitOfWork

ENTITY = "Store"
STORE_NAME = "Mercato"
TAX_INCLUSIVE = "Tax-inclusive pricing is set per region (tax_inclusive), not per store currency"

_REGION = table(
    "region", column("id"), column("currency_code"), column("created_at"), column("deleted_at")
)
_SALES_CHANNEL = table("sales_channel", column("id"), column("deleted_at"))
_STOCK_LOCATION = table("stock_location", column("id"))
# Default column → (entity named in a not-found message, its table, whether rows soft-delete).
_DEFAULTS: dict[str, tuple[str, Any, bool]] = {
    "default_region_id": ("Region", _REGION, True),
    "default_sales_channel_id": ("Sales channel", _SALES_CHANNEL, True),
    "default_location_id": ("Stock location", _STOCK_LOCATION, False),
}


async def _region_currencies(session: AsyncSession) -> list[str]:
    """The live regions' currencies, the oldest region's first, each once."""
    codes = await session.scalars(
        select(_REGION.c.currency_code)
        .where(_REGION.c.deleted_at.is_(None))
        .order_by(_REGION.c.created_at, _REGION.c.id)
    )
    return list(dict.fromkeys(codes))


async def ensure_store(uow: UnitOfWork) -> bool:
    """Create the store when there is none (``mercato migrate``; idempotent): named
    ``Mercato``, with the currencies of the existing regions, the oldest region's the default,
    and no defaults. The table lock makes concurrent migrates create one. True when it created
    the store."""
    async with uow:
        session = uow.session
        await session.execute(text("LOCK TABLE store IN SHARE ROW EXCLUSIVE MODE"))
        if await session.scalar(select(Store.id).limit(1)) is not None:
            return False
        store = Store(name=STORE_NAME)
        session.add(store)
        await session.flush()
        for index, code in enumerate(await _region_currencies(session)):
            session.add(StoreCurrency(store_id=store.id, currency_code=code, is_default=index == 0))
        await uow.commit()
    return True


async def set_demo_defaults(uow: UnitOfWork, *, region_id: str, sales_channel_id: str) -> None:
    """``mercato seed --demo``: the store's default region and sales channel are the demo's."""
    async with uow:
        store = await _locked_store(uow.session)
        if store is not None:
            store.default_region_id = region_id
            store.default_sales_channel_id = sales_channel_id
        await uow.commit()


async def _locked_store(session: AsyncSession, store_id: str | None = None) -> Store | None:
    query = select(Store).with_for_update()
    query = query.where(Store.id == store_id) if store_id else query.order_by(Store.id).limit(1)
    return await session.scalar(query)


async def _codes(session: AsyncSession, store_id: str) -> list[str]:
    return list(
        await session.scalars(
            select(StoreCurrency.currency_code).where(StoreCurrency.store_id == store_id)
        )
    )


async def add_region_currency(session: AsyncSession, code: str) -> None:
    """A region's currency joins the store's list in the region's transaction (the default
    only when the list was empty). No store (a database ``mercato migrate`` has not finished):
    nothing to do, the store will take the regions' currencies when it is created."""
    store = await _locked_store(session)
    if store is None:
        return
    codes = await _codes(session, store.id)
    if code not in codes:
        session.add(StoreCurrency(store_id=store.id, currency_code=code, is_default=not codes))


async def clear_default(session: AsyncSession, name: str, entity_id: str) -> None:
    """A deleted region, sales channel or stock location stops being the store's default."""
    attribute = getattr(Store, name)
    await session.execute(update(Store).where(attribute == entity_id).values({name: None}))


def _check_currencies(items: list[dict[str, Any]]) -> list[tuple[str, bool]]:
    """The new list as ``(code, is_default)``, with Medusa's checks and messages."""
    codes = [item["currency_code"].lower() for item in items]
    duplicates = list(dict.fromkeys(c for c in codes if codes.count(c) > 1))
    if duplicates:
        raise invalid(f"Duplicate currency codes: {', '.join(duplicates)}")
    defaults = [item.get("is_default") is True for item in items]
    if sum(defaults) > 1:
        raise invalid("Only one default currency is allowed")
    if items and not any(defaults):
        raise invalid("There should be a default currency set for the store")
    for code, item in zip(codes, items, strict=True):
        if currency(code) is None:
            raise invalid(f"Currency with code {item['currency_code']} was not found")
        if item.get("is_tax_inclusive") is True:
            raise invalid(TAX_INCLUSIVE)
    return list(zip(codes, defaults, strict=True))


async def _check_removals(session: AsyncSession, removed: list[str]) -> None:
    """A currency a live region uses stays (Mercato prices in the region's currency)."""
    if not removed:
        return
    used = (
        await session.execute(
            select(_REGION.c.currency_code, _REGION.c.id)
            .where(_REGION.c.deleted_at.is_(None), _REGION.c.currency_code.in_(removed))
            .order_by(_REGION.c.currency_code, _REGION.c.created_at, _REGION.c.id)
            .limit(1)
        )
    ).first()
    if used is not None:
        raise invalid(f"Currency {used[0]} is used by region {used[1]} and cannot be removed")


async def _check_default(session: AsyncSession, name: str, entity_id: str | None) -> None:
    if entity_id is None:
        return
    entity, model, soft = _DEFAULTS[name]
    query = select(model.c.id).where(model.c.id == entity_id)
    if soft:
        query = query.where(model.c.deleted_at.is_(None))
    if await session.scalar(query) is None:
        raise invalid(f"{entity} with id {entity_id} was not found")


async def _replace_currencies(
    session: AsyncSession, store: Store, items: list[dict[str, Any]]
) -> None:
    wanted = _check_currencies(items)
    rows = {
        row.currency_code: row
        for row in await session.scalars(
            select(StoreCurrency).where(StoreCurrency.store_id == store.id)
        )
    }
    codes = {code for code, _ in wanted}
    removed = sorted(code for code in rows if code not in codes)
    await _check_removals(session, removed)
    if removed:
        await session.execute(
            delete(StoreCurrency).where(
                StoreCurrency.store_id == store.id, StoreCurrency.currency_code.in_(removed)
            )
        )
    for code, is_default in wanted:
        row = rows.get(code)
        if row is None:
            session.add(StoreCurrency(store_id=store.id, currency_code=code, is_default=is_default))
        elif row.is_default != is_default:
            row.is_default = is_default


async def update_store(uow: UnitOfWork, *, store_id: str, changes: dict[str, Any]) -> Store:
    async with uow:
        session = uow.session
        store = await _locked_store(session, store_id)
        if store is None:
            raise not_found(ENTITY, store_id)
        if "name" in changes:
            if changes["name"] is None:
                raise invalid("Invalid request: name: must not be null")
            store.name = changes["name"]
        if "supported_currencies" in changes:
            if changes["supported_currencies"] is None:
                raise invalid("Invalid request: supported_currencies: must not be null")
            await _replace_currencies(session, store, changes["supported_currencies"])
        for name in _DEFAULTS:
            if name in changes:
                await _check_default(session, name, changes[name])
                setattr(store, name, changes[name])
        if "metadata" in changes:
            store.metadata_ = changes["metadata"]
        await uow.commit()
    return store
