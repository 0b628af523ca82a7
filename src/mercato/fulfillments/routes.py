"""Fulfilment routes for admins and for a seller's members (orders.md "Fulfilment")."""

from fastapi import APIRouter

admin_router = APIRouter(prefix="/admin/orders", tags=["admin: fulfillments"])
vendor_router = APIRouter(prefix="/vendor/orders", tags=["vendor: fulfillments"])
