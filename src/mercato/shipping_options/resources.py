"""What clients see of shipping options.

Medusa's fulfilment model (shipping profiles, service zones, fulfilment sets, providers) is
answered from the seller (admin-dashboard.md §7): the seller is the shipping profile
(``shipping_profile_id`` = ``seller_id``), every option is manual (``provider_id``
``"manual_manual"``), and ``service_zone.fulfillment_set`` is a synthetic ``"shipping"`` set at
the seller's stock location."""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from sqlalchemy import ColumnElement, any_, select

from mercato.query.fields import Field, FieldRules, Relation, RenderContext, Resource
from mercato.query.listing import Filter, ListSpec, ilike_any
from mercato.query.loaders import belongs_to
from mercato.query.values import attr, constant, money, timestamp
from mercato.sellers.models import Seller, StockLocation
from mercato.sellers.resources import SELLER
from mercato.shipping_options.models import ShippingOption

PROVIDER_ID = "manual_manual"


@dataclass(frozen=True, slots=True)
class SellerScoped:
    """A synthetic object standing for something every seller has one of (its service zone,
    its fulfilment set): only the seller's id."""

    seller_id: str


class _PerSeller:
    """The synthetic object of each row's seller (no query)."""

    reads = ("seller_id",)

    async def __call__(self, ctx: RenderContext, rows: list[Any]) -> list[Any]:
        return [SellerScoped(row.seller_id) for row in rows]


LOCATION = Resource(
    name="stock_location",
    fields={"id": attr("id"), "name": attr("name")},
    defaults=("id", "name"),
)

FULFILLMENT_SET = Resource(
    name="fulfillment_set",
    fields={"type": constant("shipping", {"type": "string", "const": "shipping"})},
    relations={
        "location": Relation(
            lambda: LOCATION, belongs_to(StockLocation, "seller_id", key="seller_id"), many=False
        )
    },
    defaults=("type",),
)

SERVICE_ZONE = Resource(
    name="service_zone",
    fields={},
    relations={"fulfillment_set": Relation(lambda: FULFILLMENT_SET, _PerSeller(), many=False)},
    defaults=(),
)

SHIPPING_OPTION = Resource(
    name="shipping_option",
    fields={
        "id": attr("id"),
        "name": attr("name"),
        "seller_id": attr("seller_id"),
        "region_id": attr("region_id"),
        "currency_code": attr("currency_code"),
        "amount": money("amount"),
        "price_type": lambda o: "flat",
        "is_return": attr("is_return"),
        "shipping_profile_id": Field(attrgetter("seller_id"), ("seller_id",), expr="r.seller_id"),
        "provider_id": constant(PROVIDER_ID, {"type": "string", "const": PROVIDER_ID}),
        "data": attr("data"),
        "metadata": attr("metadata_"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    relations={
        "seller": Relation(lambda: SELLER, belongs_to(Seller, "seller_id"), many=False),
        "service_zone": Relation(lambda: SERVICE_ZONE, _PerSeller(), many=False),
    },
    defaults=(
        "id",
        "name",
        "seller_id",
        "region_id",
        "currency_code",
        "amount",
        "price_type",
        "is_return",
        "shipping_profile_id",
        "provider_id",
        "data",
        "metadata",
        "created_at",
        "updated_at",
    ),
)
SHIPPING_OPTION_FIELDS = FieldRules(defaults=SHIPPING_OPTION.defaults)


def at_location(op: str, location_ids: Any) -> ColumnElement[bool]:
    """Options of the sellers owning the stock locations (``location_ids``: an array
    parameter); return options included, as Medusa's ``stock_location_id`` filter."""
    owned = ShippingOption.seller_id.in_(
        select(StockLocation.seller_id).where(StockLocation.id == any_(location_ids))
    )
    return ~owned if op in ("$ne", "$nin") else owned


SHIPPING_OPTION_LIST = ListSpec(
    model=ShippingOption,
    resource=SHIPPING_OPTION,
    plural="shipping_options",
    fields=SHIPPING_OPTION_FIELDS,
    filters={
        "id": Filter(ShippingOption.id),
        "seller_id": Filter(ShippingOption.seller_id),
        "region_id": Filter(ShippingOption.region_id),
        "stock_location_id": Filter(at_location),
        "is_return": Filter(ShippingOption.is_return, "boolean"),
        "created_at": Filter(ShippingOption.created_at, "datetime"),
        "updated_at": Filter(ShippingOption.updated_at, "datetime"),
    },
    sortable={
        "created_at": ShippingOption.created_at,
        "updated_at": ShippingOption.updated_at,
        "name": ShippingOption.name,
    },
    q=lambda text: ilike_any(text, ShippingOption.name),
    scope=(ShippingOption.deleted_at.is_(None),),
)
