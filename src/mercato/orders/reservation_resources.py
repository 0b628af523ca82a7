"""``/admin/reservations`` (admin-dashboard.md §7): the units checkout reserved for each order
line, as Medusa's ``AdminReservation``. The variant is Mercato's inventory item
(``inventory_item_id`` = the variant id); a reservation a fulfilment used up is gone."""

from __future__ import annotations

from sqlalchemy import literal_column

from mercato.orders.models import ReservationItem
from mercato.query.fields import FieldRules, Resource
from mercato.query.listing import Filter, ListSpec
from mercato.query.values import attr, constant, timestamp

RESERVATION = Resource(
    name="reservation",
    fields={
        "id": attr("id"),
        "line_item_id": attr("line_item_id"),
        "location_id": attr("location_id"),
        "inventory_item_id": attr("variant_id"),
        "quantity": attr("quantity"),
        "description": constant(None),
        "external_id": constant(None),
        "metadata": constant(None),
        "created_by": constant(None),
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    },
    defaults=(
        "id",
        "line_item_id",
        "location_id",
        "inventory_item_id",
        "quantity",
        "description",
        "external_id",
        "metadata",
        "created_by",
        "created_at",
        "updated_at",
    ),
)
RESERVATION_FIELDS = FieldRules(defaults=RESERVATION.defaults)
# Units still reserved only (a row a fulfilment emptied is not a reservation).
RESERVED = (ReservationItem.quantity > literal_column("0"),)
RESERVATION_LIST = ListSpec(
    model=ReservationItem,
    resource=RESERVATION,
    plural="reservations",
    fields=RESERVATION_FIELDS,
    filters={
        "id": Filter(ReservationItem.id),
        "line_item_id": Filter(ReservationItem.line_item_id),
        "location_id": Filter(ReservationItem.location_id),
        "inventory_item_id": Filter(ReservationItem.variant_id),
        "created_at": Filter(ReservationItem.created_at, "datetime"),
        "updated_at": Filter(ReservationItem.updated_at, "datetime"),
    },
    sortable={
        "created_at": ReservationItem.created_at,
        "updated_at": ReservationItem.updated_at,
    },
    scope=RESERVED,
)
