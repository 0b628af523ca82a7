"""Every audience's router, with its authentication declared once, here.

``/admin/*`` needs an admin (user token or secret key), ``/store/*`` a publishable key (customer
routes add the customer token themselves), ``/vendor/*`` a seller member; ``/auth/*`` and
``/health`` are open.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, FastAPI

from mercato.api import (
    api_keys,
    auth,
    campaigns,
    carts,
    checkout,
    claims,
    customer_groups,
    customers,
    dashboard,
    draft_orders,
    events,
    exchanges,
    fulfillments,
    health,
    order_edits,
    order_groups,
    orders,
    payments,
    products,
    promotions,
    regions,
    reservations,
    return_reasons,
    returns,
    sales_channels,
    sellers,
    shipping_options,
    stock_locations,
    store_returns,
    stores,
    users,
    webhooks,
)
from mercato.api.deps import admin, store, vendor


def include_routers(app: FastAPI) -> None:
    """Include each feature's routers in ``app`` through its audience's router."""
    public = _audience(
        None, health.router, auth.router, dashboard.auth_router, dashboard.public_router
    )
    admin_api = _audience(
        admin,
        users.router,
        customers.admin_router,
        customer_groups.router,
        sellers.admin_router,
        regions.admin_router,
        sales_channels.router,
        api_keys.router,
        products.admin_router,
        shipping_options.router,
        stock_locations.router,
        reservations.router,
        return_reasons.admin_router,
        returns.admin_router,
        exchanges.admin_router,
        claims.admin_router,
        order_edits.admin_router,
        order_groups.admin_router,
        orders.admin_router,
        draft_orders.admin_router,
        events.admin_router,
        payments.admin_router,
        payments.admin_collections_router,
        fulfillments.admin_router,
        promotions.admin_router,
        campaigns.admin_router,
        webhooks.admin_router,
        stores.router,
        stores.currencies_router,
        dashboard.admin_router,
    )
    store_api = _audience(
        store,
        customers.store_router,
        regions.store_router,
        products.store_router,
        carts.router,
        shipping_options.store_router,
        shipping_options.return_options_router,
        return_reasons.store_router,
        store_returns.router,
        payments.store_router,
        checkout.router,
        order_groups.store_router,
    )
    vendor_api = _audience(
        vendor,
        sellers.vendor_router,
        orders.vendor_router,
        payments.vendor_router,
        fulfillments.vendor_router,
        return_reasons.vendor_router,
        returns.vendor_router,
        exchanges.vendor_router,
        claims.vendor_router,
        order_edits.vendor_router,
        promotions.vendor_router,
        campaigns.vendor_router,
        webhooks.vendor_router,
    )
    for audience in (public, admin_api, store_api, vendor_api):
        app.include_router(audience)


def _audience(authenticate: Callable[..., Any] | None, *routers: APIRouter) -> APIRouter:
    """One router holding ``routers``, each of their routes behind ``authenticate``."""
    audience = APIRouter(dependencies=[Depends(authenticate)] if authenticate else [])
    for router in routers:
        audience.include_router(router)
    return audience
