"""What a seller's endpoint may see of an event (events-and-scale-out.md, Vendor webhooks).

Payloads are thin (ids); a seller gets only ids of its own order and that order's own
sub-resources, never the group's, the cart's or the whole checkout's payment."""

from __future__ import annotations

from typing import Any

VENDOR_PREFIXES = ("order.", "order-edit.", "payment.", "promotion.", "campaign.")

# An order event's ids that are the order's own: the order and its fulfillments, returns,
# exchanges, claims, changes, credit lines and change collections.
_ORDER_KEYS = frozenset(
    {
        "id",
        "order_id",
        "fulfillment_id",
        "shipment_id",
        "return_id",
        "exchange_id",
        "claim_id",
        "order_change_id",
        "change_id",
        "credit_line_id",
        "payment_collection_id",
    }
)


def vendor_may_receive(name: str) -> bool:
    return name.startswith(VENDOR_PREFIXES)


def project_for_seller(name: str, data: dict[str, Any]) -> dict[str, Any]:
    """The payload a seller's endpoint receives for event ``name``."""
    if name.startswith(("order.", "order-edit.")):
        return {k: v for k, v in data.items() if k in _ORDER_KEYS and isinstance(v, str)}
    if name.startswith("payment."):
        return {"order_id": data["order_id"]} if "order_id" in data else {}
    if name.startswith(("promotion.", "campaign.")):
        return {"id": data["id"]} if "id" in data else {}
    return {}
