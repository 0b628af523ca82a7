"""Exchange routes (order-changes.md §7, §11): the routes exchanges share with claims
(:mod:`mercato.api.change_owners`), for admins and for vendors (another seller's order or
exchange is a 404)."""

from typing import Any

from mercato.api.change_owners import OwnerKind, register
from mercato.domain import exchanges as flows
from mercato.domain.order_changes import Exchange
from mercato.domain.order_group import OrderGroup
from mercato.domain.returns import Actor
from mercato.http.routing import APIRouter
from mercato.orders.change_models import OrderExchange
from mercato.orders.change_resources import (
    EXCHANGE,
    EXCHANGE_FIELDS,
    EXCHANGE_LIST,
    VENDOR_EXCHANGE_LIST,
)
from mercato.orders.return_schemas import BeginExchange

admin_router = APIRouter(tags=["admin: exchanges"])
vendor_router = APIRouter(tags=["vendor: exchanges"])


def _begin(
    group: OrderGroup, order_id: str, actor: Actor, seller_id: str | None, values: dict[str, Any]
) -> Exchange:
    return flows.begin_exchange(group, order_id, actor, seller_id=seller_id, **values)


EXCHANGES = OwnerKind(
    kind="exchange",
    name="Exchange",
    model=OrderExchange,
    resource=EXCHANGE,
    fields=EXCHANGE_FIELDS,
    list_spec=EXCHANGE_LIST,
    vendor_list_spec=VENDOR_EXCHANGE_LIST,
    list_filters="Filters: id, order_id, created_at, updated_at (admin: seller_id).",
    begin_body=BeginExchange,
    begin=_begin,
    begin_before=lambda body: None,
    request=flows.request_exchange,
    cancel=flows.cancel_exchange,
)

register(admin_router, "/admin", EXCHANGES, vendor=False)
register(vendor_router, "/vendor", EXCHANGES, vendor=True)
