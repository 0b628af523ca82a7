"""The payment vocabularies, each defined once: the statuses a payment collection and a payment
session take, and the ids of the payment providers.

The database holds the status columns to these sets (CHECK constraints declared on the models,
migration 0009); resources, the seed and the benchmark seed read them from here.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

# Medusa 2.8's PaymentCollectionStatus (reference medusa-orders.md §2.1), and ``requires_action``,
# which ``getLastPaymentStatus`` reads from its buckets (``domain.statuses``).
PaymentCollectionStatus = Literal[
    "not_paid",
    "awaiting",
    "authorized",
    "partially_authorized",
    "canceled",
    "failed",
    "partially_captured",
    "completed",
    "requires_action",
]
PaymentSessionStatus = Literal[
    "pending", "authorized", "captured", "requires_more", "error", "canceled"
]

PAYMENT_COLLECTION_STATUSES: Final[tuple[PaymentCollectionStatus, ...]] = get_args(
    PaymentCollectionStatus
)
PAYMENT_SESSION_STATUSES: Final[tuple[PaymentSessionStatus, ...]] = get_args(PaymentSessionStatus)

# Where a payment collection comes from (order-changes.md §2.4): a cart's checkout, a draft
# order's conversion, or an order change's amount due (linked to that one order).
CollectionSource = Literal["cart", "draft_order", "order_change"]
COLLECTION_SOURCES: Final[tuple[CollectionSource, ...]] = get_args(CollectionSource)
UNPAID_COLLECTION_STATUSES: Final = ("not_paid", "awaiting")

PP_SYSTEM_DEFAULT: Final = "pp_system_default"
"""Authorizes at once; capture and refund are bookkeeping (every region may offer it)."""
PP_TEST: Final = "pp_test"
"""Scripted outcomes for tests and demos; only when ``MERCATO_ENABLE_TEST_PROVIDER=1``."""
PROVIDER_IDS: Final = (PP_SYSTEM_DEFAULT, PP_TEST)

PAYMENT_FAILURES: Final = {
    "declined": ("payment_authorization_error", "Payment authorization failed"),
    "requires_more": ("payment_requires_more_error", "More information is required for payment"),
}
"""A provider's refused authorization → the API's error ``(type, message)`` (checkout.md)."""
