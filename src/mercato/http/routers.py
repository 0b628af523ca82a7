"""Every audience's router, with its authentication declared once, here.

``/admin/*`` needs an admin (user token or secret key), ``/store/*`` a publishable key (customer
routes add the customer token themselves), ``/vendor/*`` a seller member.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from starlette.routing import Match
from starlette.types import Scope

from mercato.http.deps import admin, store, vendor
from mercato.http.routing import route_path


def all_routers() -> list[APIRouter]:
    from mercato.api_keys import routes as api_keys
    from mercato.auth import routes as auth
    from mercato.carts import routes as carts
    from mercato.checkout import routes as checkout
    from mercato.customers import routes as customers
    from mercato.events import routes as events
    from mercato.fulfillments import routes as fulfillments
    from mercato.http import health
    from mercato.order_groups import routes as order_groups
    from mercato.orders import routes as orders
    from mercato.payments import routes as payments
    from mercato.products import routes as products
    from mercato.regions import routes as regions
    from mercato.sales_channels import routes as sales_channels
    from mercato.sellers import routes as sellers
    from mercato.shipping_options import routes as shipping_options
    from mercato.users import routes as users

    admin_routes = [
        users.router,
        customers.admin_router,
        sellers.admin_router,
        regions.admin_router,
        sales_channels.router,
        api_keys.router,
        products.admin_router,
        shipping_options.router,
        order_groups.admin_router,
        orders.admin_router,
        events.admin_router,
        payments.admin_router,
        fulfillments.admin_router,
    ]
    store_routes = [
        customers.store_router,
        regions.store_router,
        products.store_router,
        carts.router,
        shipping_options.store_router,
        payments.store_router,
        checkout.router,
        order_groups.store_router,
    ]
    vendor_routes = [
        sellers.vendor_router,
        orders.vendor_router,
        payments.vendor_router,
        fulfillments.vendor_router,
    ]

    admin_api = AudienceRouter("/admin/", dependencies=[Depends(admin)])
    for router in admin_routes:
        admin_api.include_router(router)
    store_api = AudienceRouter("/store/", dependencies=[Depends(store)])
    for router in store_routes:
        store_api.include_router(router)
    vendor_api = AudienceRouter("/vendor/", dependencies=[Depends(vendor)])
    for router in vendor_routes:
        vendor_api.include_router(router)
    return [health.router, auth.router, admin_api, store_api, vendor_api]


class AudienceRouter(APIRouter):
    """One audience's routes, all under one path prefix: a request under another prefix is
    turned away at once instead of being tried against every route's pattern (FastAPI matches
    included routers route by route, twice per request)."""

    def __init__(self, path_prefix: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.path_prefix = path_prefix

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if not route_path(scope).startswith(self.path_prefix):
            return Match.NONE, {}
        return super().matches(scope)
