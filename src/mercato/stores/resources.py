"""How the store, its currencies and the currency table render (Medusa's ``AdminStore``,
``AdminStoreCurrency``, ``AdminCurrency``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from mercato.domain.currencies import CURRENCY_TABLE, Currency
from mercato.query.driver import FixedQuery, keys_param
from mercato.query.fields import Field, FieldRules, Relation, RenderContext, Resource
from mercato.query.listing import Filter as ListFilter
from mercato.query.listing import ListSpec, ilike_any
from mercato.query.loaders import has_many
from mercato.query.values import attr, timestamp
from mercato.stores.models import Store, StoreCurrency


def constant(value: Any, schema: dict[str, Any] | None = None) -> Field:
    """A field every row answers with the same JSON value (a concept Mercato lacks)."""
    return Field(lambda _: value, (), expr=repr(value), schema=schema)


@dataclass(frozen=True, slots=True)
class CurrencyView:
    """A table currency as rendered: its timestamps are the store's."""

    code: str
    symbol: str
    symbol_native: str
    name: str
    decimal_digits: int
    rounding: int
    created_at: datetime | None
    updated_at: datetime | None
    deleted_at: None = None


def currency_view(entry: Currency, created_at: Any, updated_at: Any) -> CurrencyView:
    return CurrencyView(
        entry.code,
        entry.symbol,
        entry.symbol_native,
        entry.name,
        entry.decimal_digits,
        entry.rounding,
        created_at,
        updated_at,
    )


CURRENCY = Resource(
    name="currency",
    fields={
        "code": attr("code"),
        "symbol": attr("symbol"),
        "symbol_native": attr("symbol_native"),
        "name": attr("name"),
        "decimal_digits": attr("decimal_digits"),
        "rounding": attr("rounding"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
        "deleted_at": timestamp("deleted_at"),
    },
    defaults=(
        "code",
        "symbol",
        "symbol_native",
        "name",
        "decimal_digits",
        "rounding",
        "created_at",
        "updated_at",
        "deleted_at",
    ),
)
CURRENCY_FIELDS = FieldRules(defaults=CURRENCY.defaults)

_STORE_TIMES = FixedQuery(
    select(Store.id, Store.created_at, Store.updated_at).where(keys_param(Store.id))
)


async def _currencies(ctx: RenderContext, rows: list[Any]) -> list[CurrencyView | None]:
    """Each store currency's table entry, with its store's timestamps (one statement)."""
    ids = list({row.store_id for row in rows})
    times = {
        r.id: (r.created_at, r.updated_at)
        for r in await _STORE_TIMES.rows(ctx.session, connection=await ctx.driver(), keys=ids)
    }
    views = []
    for row in rows:
        entry = CURRENCY_TABLE.get(row.currency_code)
        created, updated = times.get(row.store_id, (None, None))
        views.append(None if entry is None else currency_view(entry, created, updated))
    return views


STORE_CURRENCY = Resource(
    name="store_currency",
    fields={
        "id": attr("id"),
        "currency_code": attr("currency_code"),
        "store_id": attr("store_id"),
        "is_default": attr("is_default"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
        "deleted_at": constant(None, {"type": "null"}),
    },
    relations={"currency": Relation(lambda: CURRENCY, _currencies, many=False)},
    defaults=(
        "id",
        "currency_code",
        "store_id",
        "is_default",
        "currency",
        "created_at",
        "updated_at",
        "deleted_at",
    ),
)

STORE = Resource(
    name="store",
    fields={
        "id": attr("id"),
        "name": attr("name"),
        "default_sales_channel_id": attr("default_sales_channel_id"),
        "default_region_id": attr("default_region_id"),
        "default_location_id": attr("default_location_id"),
        "metadata": attr("metadata_"),
        "supported_locales": constant([], {"type": "array", "maxItems": 0}),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    relations={
        "supported_currencies": Relation(
            lambda: STORE_CURRENCY,
            has_many(StoreCurrency, "store_id", order_by=(StoreCurrency.currency_code,)),
            many=True,
        ),
    },
    defaults=(
        "id",
        "name",
        "supported_currencies",
        "default_sales_channel_id",
        "default_region_id",
        "default_location_id",
        "metadata",
        "created_at",
        "updated_at",
    ),
)
STORE_FIELDS = FieldRules(defaults=STORE.defaults)

STORE_LIST = ListSpec(
    model=Store,
    resource=STORE,
    plural="stores",
    fields=STORE_FIELDS,
    filters={
        "id": ListFilter(Store.id),
        "name": ListFilter(Store.name),
        "created_at": ListFilter(Store.created_at, "datetime"),
        "updated_at": ListFilter(Store.updated_at, "datetime"),
    },
    sortable={
        "created_at": Store.created_at,
        "updated_at": Store.updated_at,
        "name": Store.name,
    },
    default_order="created_at",
    q=lambda text: ilike_any(text, Store.name),
)
