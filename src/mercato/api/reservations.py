"""``/admin/reservations`` (read-only): the units checkout reserved per order line
(admin-dashboard.md §7)."""

from mercato.api.deps import Query, Session
from mercato.api.openapi import list_operation, render_operation
from mercato.http.routing import APIRouter
from mercato.orders.models import ReservationItem
from mercato.orders.reservation_resources import (
    RESERVATION,
    RESERVATION_FIELDS,
    RESERVATION_LIST,
    RESERVED,
)
from mercato.query.listing import find_or_404, run_list, run_retrieve

router = APIRouter(prefix="/admin/reservations", tags=["admin: reservations"])


@router.get(
    "", operation_id="AdminListReservations", openapi_extra=list_operation(RESERVATION_LIST)
)
async def list_reservations(session: Session, params: Query) -> dict:
    return await run_list(session, RESERVATION_LIST, params)


@router.get(
    "/{reservation_id}",
    operation_id="AdminGetReservation",
    openapi_extra=render_operation(RESERVATION, RESERVATION_FIELDS, errors=(404,)),
)
async def get_reservation(reservation_id: str, session: Session, params: Query) -> dict:
    reservation = await find_or_404(
        session, ReservationItem, "Reservation", reservation_id, scope=RESERVED
    )
    return {
        "reservation": await run_retrieve(
            session, resource=RESERVATION, rules=RESERVATION_FIELDS, row=reservation, params=params
        )
    }
