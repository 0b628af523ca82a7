"""Payment request bodies (store collections, admin/vendor capture and refund): strict,
unknown keys rejected."""

from typing import Any

from mercato.http.schemas import Amount, Body


class CreatePaymentCollection(Body):
    cart_id: str


class CreatePaymentSession(Body):
    provider_id: str
    data: dict[str, Any] | None = None


class CaptureAmount(Body):
    """``{amount?}`` in major units; without it, everything left to capture."""

    amount: Amount | None = None


class RefundAmount(Body):
    """``{amount?, note?, reason?}``; without an amount, everything left to refund."""

    amount: Amount | None = None
    note: str | None = None
    reason: str | None = None
