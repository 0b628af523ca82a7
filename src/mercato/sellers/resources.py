from mercato.query.fields import FieldRules, Relation, Resource
from mercato.query.listing import Filter, ListSpec, ilike_any
from mercato.query.loaders import belongs_to, has_many
from mercato.query.values import attr, timestamp
from mercato.sellers.models import SELLER_STATUSES, Seller, SellerMember, StockLocation

MEMBER = Resource(
    name="member",
    fields={
        "id": attr("id"),
        "seller_id": attr("seller_id"),
        "email": attr("email"),
        "name": attr("name"),
        "role": attr("role"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    defaults=("id", "seller_id", "email", "name", "role", "created_at", "updated_at"),
)

STOCK_LOCATION = Resource(
    name="stock_location",
    fields={"id": attr("id"), "name": attr("name"), "seller_id": attr("seller_id")},
    defaults=("id", "name", "seller_id"),
)

SELLER = Resource(
    name="seller",
    fields={
        "id": attr("id"),
        "name": attr("name"),
        "handle": attr("handle"),
        "email": attr("email"),
        "description": attr("description"),
        "logo": attr("logo"),
        "status": attr("status"),
        "metadata": attr("metadata_"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    relations={
        "members": Relation(
            lambda: MEMBER,
            has_many(SellerMember, "seller_id", where=SellerMember.deleted_at.is_(None)),
            many=True,
        ),
        "stock_location": Relation(
            lambda: STOCK_LOCATION, belongs_to(StockLocation, "id", key="seller_id"), many=False
        ),
    },
    defaults=(
        "id",
        "name",
        "handle",
        "email",
        "description",
        "logo",
        "status",
        "metadata",
        "created_at",
        "updated_at",
    ),
)
SELLER_FIELDS = FieldRules(defaults=SELLER.defaults)
SELLER_DETAIL_FIELDS = FieldRules(defaults=(*SELLER.defaults, "stock_location.*"))
MEMBER_FIELDS = FieldRules(defaults=MEMBER.defaults)
VENDOR_SELLER_FIELDS = FieldRules(
    defaults=(*SELLER.defaults, "stock_location.*"),
    allowed=(*SELLER.defaults, "stock_location.*", "members.*"),
)

SELLER_LIST = ListSpec(
    model=Seller,
    resource=SELLER,
    plural="sellers",
    fields=SELLER_FIELDS,
    filters={
        "id": Filter(Seller.id),
        "handle": Filter(Seller.handle),
        "status": Filter(Seller.status, choices=frozenset(SELLER_STATUSES)),
        "created_at": Filter(Seller.created_at, "datetime"),
        "updated_at": Filter(Seller.updated_at, "datetime"),
    },
    sortable={
        "created_at": Seller.created_at,
        "updated_at": Seller.updated_at,
        "name": Seller.name,
    },
    q=lambda text: ilike_any(text, Seller.name, Seller.handle, Seller.email),
    scope=(Seller.deleted_at.is_(None),),
)
