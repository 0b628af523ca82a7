"""Every audience's router, with its authentication declared once, here.

``/admin/*`` needs an admin (user token or secret key), ``/store/*`` a publishable key (customer
routes add the customer token themselves), ``/vendor/*`` a seller member.
"""

from __future__ import annotations

from fastapi import Depends, FastAPI

from mercato.http.deps import admin, store, vendor
from mercato.http.routing import RouteTable, flatten


def route_table(app: FastAPI) -> RouteTable:
    """Every route of the API, each audience's with its authentication."""
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

    audiences = [
        ([], [health.router, auth.router]),
        ([Depends(admin)], admin_routes),
        ([Depends(store)], store_routes),
        ([Depends(vendor)], vendor_routes),
    ]
    return RouteTable(
        [
            route
            for dependencies, routers in audiences
            for router in routers
            for route in flatten(router, dependencies=dependencies, app=app)
        ]
    )
