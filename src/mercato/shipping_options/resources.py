from mercato.query.fields import FieldRules, Relation, Resource
from mercato.query.listing import Filter, ListSpec, ilike_any
from mercato.query.loaders import belongs_to
from mercato.query.values import attr, money, timestamp
from mercato.sellers.models import Seller
from mercato.sellers.resources import SELLER
from mercato.shipping_options.models import ShippingOption

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
        "data": attr("data"),
        "metadata": attr("metadata_"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    relations={"seller": Relation(lambda: SELLER, belongs_to(Seller, "seller_id"), many=False)},
    defaults=(
        "id",
        "name",
        "seller_id",
        "region_id",
        "currency_code",
        "amount",
        "price_type",
        "is_return",
        "data",
        "metadata",
        "created_at",
        "updated_at",
    ),
)
SHIPPING_OPTION_FIELDS = FieldRules(defaults=SHIPPING_OPTION.defaults)

SHIPPING_OPTION_LIST = ListSpec(
    model=ShippingOption,
    resource=SHIPPING_OPTION,
    plural="shipping_options",
    fields=SHIPPING_OPTION_FIELDS,
    filters={
        "id": Filter(ShippingOption.id),
        "seller_id": Filter(ShippingOption.seller_id),
        "region_id": Filter(ShippingOption.region_id),
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
