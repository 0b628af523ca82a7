"""Payment request bodies (store collections, admin/vendor capture and refund): strict,
unknown keys rejected."""

from mercato.http.schemas import Amount, Body, Id, JsonObject, LongText, ShortText


class CreatePaymentCollection(Body):
    cart_id: Id


class CreatePaymentSession(Body):
    provider_id: Id
    data: JsonObject | None = None


class CaptureAmount(Body):
    """``{amount?}`` in major units; without it, everything left to capture."""

    amount: Amount | None = None


class CapturePayment(Body):
    """``POST /admin/payments/:id/capture`` (Medusa's route): ``order_id`` names which of the
    payment's orders to capture for; with ``amount`` it is required when the payment serves
    several (admin-dashboard.md §6)."""

    amount: Amount | None = None
    order_id: Id | None = None


class RefundAmount(Body):
    """``{amount?, note?, reason?}``; without an amount, everything left to refund."""

    amount: Amount | None = None
    note: LongText | None = None
    reason: ShortText | None = None


class RefundPayment(Body):
    """``POST /admin/payments/:id/refund`` (Medusa's route): ``order_id`` names which of the
    payment's orders the refund is for (required when the payment serves several)."""

    amount: Amount | None = None
    refund_reason_id: Id | None = None
    note: LongText | None = None
    order_id: Id | None = None


class MarkAsPaid(Body):
    """``POST /admin/payment-collections/:id/mark-as-paid``: the order the collection pays."""

    order_id: Id
