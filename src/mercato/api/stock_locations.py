"""``/admin/stock-locations`` (read-only): each seller's one stock location
(admin-dashboard.md §7; created with the seller, marketplace-setup.md)."""

from mercato.api.deps import Query, Session
from mercato.api.openapi import list_operation, render_operation
from mercato.http.routing import APIRouter
from mercato.query.listing import find_or_404, run_list, run_retrieve
from mercato.sellers.models import StockLocation
from mercato.sellers.resources import (
    ADMIN_STOCK_LOCATION,
    STOCK_LOCATION_FIELDS,
    STOCK_LOCATION_LIST,
)

router = APIRouter(prefix="/admin/stock-locations", tags=["admin: stock locations"])


@router.get(
    "",
    operation_id="AdminListStockLocations",
    openapi_extra=list_operation(STOCK_LOCATION_LIST),
)
async def list_stock_locations(session: Session, params: Query) -> dict:
    return await run_list(session, STOCK_LOCATION_LIST, params)


@router.get(
    "/{location_id}",
    operation_id="AdminGetStockLocation",
    openapi_extra=render_operation(ADMIN_STOCK_LOCATION, STOCK_LOCATION_FIELDS, errors=(404,)),
)
async def get_stock_location(location_id: str, session: Session, params: Query) -> dict:
    location = await find_or_404(session, StockLocation, "Stock location", location_id)
    return {
        "stock_location": await run_retrieve(
            session,
            resource=ADMIN_STOCK_LOCATION,
            rules=STOCK_LOCATION_FIELDS,
            row=location,
            params=params,
        )
    }
