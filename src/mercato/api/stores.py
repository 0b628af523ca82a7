"""``/admin/stores`` (the installation's one store) and ``/admin/currencies`` (the static
ISO-4217 table), admin-dashboard.md §3 and §4."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.api.deps import Query, Session, UoW
from mercato.api.openapi import list_operation, render_operation
from mercato.domain.currencies import CURRENCY_TABLE
from mercato.errors import MercatoError
from mercato.http.routing import APIRouter
from mercato.query.driver import FixedQuery
from mercato.query.listing import find_or_404, run_list, run_retrieve
from mercato.query.static import (
    StaticList,
    run_static_list,
    static_list_envelope,
    static_list_parameters,
    text_filter,
)
from mercato.stores import service
from mercato.stores.models import Store
from mercato.stores.resources import (
    CURRENCY,
    CURRENCY_FIELDS,
    STORE,
    STORE_FIELDS,
    STORE_LIST,
    CurrencyView,
    currency_view,
)
from mercato.stores.schemas import UpdateStore

router = APIRouter(prefix="/admin/stores", tags=["admin: stores"])
currencies_router = APIRouter(prefix="/admin/currencies", tags=["admin: currencies"])


async def _render(session: AsyncSession, store: Any, params: dict) -> dict:
    return {
        "store": await run_retrieve(
            session, resource=STORE, rules=STORE_FIELDS, row=store, params=params
        )
    }


@router.get("", operation_id="AdminListStores", openapi_extra=list_operation(STORE_LIST))
async def list_stores(session: Session, params: Query) -> dict:
    """One store; the dashboard reads ``stores[0]``."""
    return await run_list(session, STORE_LIST, params)


@router.get(
    "/{store_id}",
    operation_id="AdminGetStore",
    openapi_extra=render_operation(STORE, STORE_FIELDS),
)
async def get_store(store_id: str, session: Session, params: Query) -> dict:
    return await _render(session, await find_or_404(session, Store, "Store", store_id), params)


@router.post(
    "/{store_id}",
    operation_id="AdminUpdateStore",
    openapi_extra=render_operation(STORE, STORE_FIELDS),
)
async def update_store(
    store_id: str, body: UpdateStore, session: Session, uow: UoW, params: Query
) -> dict:
    """``supported_currencies`` replaces the list; a currency a region uses stays."""
    store = await service.update_store(uow, store_id=store_id, changes=body.changes())
    return await _render(session, store, params)


# ------------------------------------------------------------------------------- currencies

CURRENCY_LIST = StaticList(
    resource=CURRENCY,
    plural="currencies",
    fields=CURRENCY_FIELDS,
    filters={"code": text_filter()},
    sortable=("code",),
    default_order="code",
    q=("code", "name"),
    tie="code",
)
_STORE_TIMES = FixedQuery(select(Store.created_at, Store.updated_at).order_by(Store.id).limit(1))


async def _currencies(session: AsyncSession) -> list[CurrencyView]:
    """The whole table, with the store's timestamps (null before a store exists)."""
    found = await _STORE_TIMES.rows(session)
    created, updated = (found[0].created_at, found[0].updated_at) if found else (None, None)
    return [currency_view(entry, created, updated) for entry in CURRENCY_TABLE.values()]


@currencies_router.get(
    "",
    operation_id="AdminListCurrencies",
    openapi_extra={
        "parameters": static_list_parameters(CURRENCY_LIST),
        "responses": {
            "200": {
                "content": {"application/json": {"schema": static_list_envelope(CURRENCY_LIST)}}
            }
        },
    },
)
async def list_currencies(session: Session, params: Query) -> dict:
    return await run_static_list(session, CURRENCY_LIST, params, await _currencies(session))


@currencies_router.get(
    "/{code}",
    operation_id="AdminGetCurrency",
    openapi_extra=render_operation(CURRENCY, CURRENCY_FIELDS),
)
async def get_currency(code: str, session: Session, params: Query) -> dict:
    entry = CURRENCY_TABLE.get(code.lower())
    if entry is None:
        raise MercatoError("not_found", f"Currency with code {code} was not found")
    rows = [row for row in await _currencies(session) if row.code == entry.code]
    return {
        "currency": await run_retrieve(
            session, resource=CURRENCY, rules=CURRENCY_FIELDS, row=rows[0], params=params
        )
    }
