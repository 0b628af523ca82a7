from mercato.query.fields import FieldRules, Relation, Resource
from mercato.query.listing import Filter, ListSpec, ilike_any
from mercato.query.loaders import belongs_to, has_many
from mercato.query.values import attr, constant, timestamp
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

# ``/admin/stock-locations`` (admin-dashboard.md §7): each seller's one location as Medusa's
# ``AdminStockLocation`` plus its ``seller_id``; Mercato keeps no address for it.
SELLER_BRIEF = Resource(
    name="seller",
    fields={"id": attr("id"), "name": attr("name"), "handle": attr("handle")},
    defaults=("id", "name", "handle"),
)
ADMIN_STOCK_LOCATION = Resource(
    name="stock_location",
    fields={
        "id": attr("id"),
        "name": attr("name"),
        "address_id": constant(None),
        "address": constant(None),
        "metadata": constant(None),
        "seller_id": attr("seller_id"),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    relations={
        "seller": Relation(lambda: SELLER_BRIEF, belongs_to(Seller, "seller_id"), many=False)
    },
    defaults=(
        "id",
        "name",
        "address_id",
        "address",
        "metadata",
        "seller_id",
        "created_at",
        "updated_at",
    ),
)
STOCK_LOCATION_FIELDS = FieldRules(defaults=ADMIN_STOCK_LOCATION.defaults)
STOCK_LOCATION_LIST = ListSpec(
    model=StockLocation,
    resource=ADMIN_STOCK_LOCATION,
    plural="stock_locations",
    fields=STOCK_LOCATION_FIELDS,
    filters={
        "id": Filter(StockLocation.id),
        "name": Filter(StockLocation.name),
        "seller_id": Filter(StockLocation.seller_id),
        "created_at": Filter(StockLocation.created_at, "datetime"),
        "updated_at": Filter(StockLocation.updated_at, "datetime"),
    },
    sortable={
        "name": StockLocation.name,
        "created_at": StockLocation.created_at,
        "updated_at": StockLocation.updated_at,
    },
    q=lambda text: ilike_any(text, StockLocation.name),
)
