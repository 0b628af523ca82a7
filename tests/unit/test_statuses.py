"""Derived statuses (per order and per group) and order status transitions."""

from __future__ import annotations

import pytest

from mercato.domain.errors import DomainError
from mercato.domain.statuses import (
    FULFILLMENT_STATUSES,
    PAYMENT_STATUSES,
    FulfillmentFacts,
    GroupMember,
    GroupStatuses,
    ItemFulfillmentFacts,
    OrderPaymentFacts,
    PaymentCollectionFacts,
    ensure_can_archive,
    ensure_can_cancel,
    ensure_can_complete,
    group_fulfillment_status,
    group_payment_status,
    group_status,
    group_statuses,
    last_payment_status,
    order_fulfillment_status,
    order_payment_status,
)

# ----------------------------------------------------------------------------- group status


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["pending"], "pending"),
        (["pending", "pending"], "pending"),
        (["canceled"], "canceled"),
        (["canceled", "canceled"], "canceled"),
        (["archived"], "archived"),
        (["archived", "canceled"], "archived"),
        (["archived", "archived"], "archived"),
        (["completed"], "completed"),
        (["completed", "completed"], "completed"),
        (["completed", "canceled"], "completed"),
        (["completed", "archived"], "completed"),
        (["completed", "archived", "canceled"], "completed"),
        (["requires_action"], "requires_action"),
        (["requires_action", "pending"], "requires_action"),
        (["requires_action", "canceled"], "requires_action"),
        (["requires_action", "completed"], "requires_action"),
        (["pending", "canceled"], "pending"),
        (["pending", "completed"], "pending"),
        (["pending", "archived"], "pending"),
        (["pending", "completed", "canceled"], "pending"),
        (["draft", "completed"], "pending"),
        ([], "pending"),
    ],
)
def test_group_status(statuses: list[str], expected: str) -> None:
    assert group_status(statuses) == expected


# ----------------------------------------------------------------------------- group payment


def pay(*members: tuple[str, str]) -> list[GroupMember]:
    return [GroupMember(status=s, payment_status=p) for s, p in members]


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        # requires_action wins over everything
        (pay(("pending", "requires_action"), ("pending", "captured")), "requires_action"),
        (pay(("pending", "refunded"), ("pending", "requires_action")), "requires_action"),
        (pay(("canceled", "requires_action"), ("pending", "awaiting")), "requires_action"),
        # refunded
        (pay(("pending", "refunded")), "refunded"),
        (pay(("pending", "refunded"), ("pending", "refunded")), "refunded"),
        (pay(("pending", "partially_refunded")), "partially_refunded"),
        (pay(("pending", "refunded"), ("pending", "captured")), "partially_refunded"),
        (pay(("pending", "refunded"), ("pending", "partially_refunded")), "partially_refunded"),
        (pay(("pending", "refunded"), ("pending", "authorized")), "partially_refunded"),
        # canceled order (refunded on cancel) next to a still paid order
        (pay(("canceled", "refunded"), ("pending", "captured")), "partially_refunded"),
        (pay(("canceled", "refunded"), ("completed", "refunded")), "refunded"),
        (pay(("canceled", "refunded"), ("canceled", "refunded")), "refunded"),
        # captured
        (pay(("pending", "captured")), "captured"),
        (pay(("pending", "captured"), ("completed", "captured")), "captured"),
        (pay(("pending", "partially_captured")), "partially_captured"),
        (pay(("pending", "captured"), ("pending", "authorized")), "partially_captured"),
        (pay(("pending", "captured"), ("pending", "partially_captured")), "partially_captured"),
        (pay(("pending", "captured"), ("pending", "not_paid")), "partially_captured"),
        (pay(("pending", "captured"), ("canceled", "canceled")), "captured"),
        (pay(("pending", "partially_captured"), ("canceled", "canceled")), "partially_captured"),
        # authorized
        (pay(("pending", "authorized")), "authorized"),
        (pay(("pending", "authorized"), ("pending", "authorized")), "authorized"),
        (pay(("pending", "partially_authorized")), "partially_authorized"),
        (pay(("pending", "authorized"), ("pending", "awaiting")), "partially_authorized"),
        (
            pay(("pending", "authorized"), ("pending", "partially_authorized")),
            "partially_authorized",
        ),
        (pay(("pending", "authorized"), ("canceled", "canceled")), "authorized"),
        (pay(("pending", "authorized"), ("canceled", "not_paid")), "authorized"),
        # an archived order that was never canceled is an ordinary member
        (pay(("archived", "authorized"), ("pending", "captured")), "partially_captured"),
        # all canceled
        (pay(("canceled", "canceled")), "canceled"),
        (pay(("canceled", "canceled"), ("canceled", "canceled")), "canceled"),
        (pay(("canceled", "canceled"), ("pending", "awaiting")), "awaiting"),
        (pay(("canceled", "canceled"), ("pending", "not_paid")), "not_paid"),
        # awaiting / not_paid
        (pay(("pending", "awaiting")), "awaiting"),
        (pay(("pending", "awaiting"), ("pending", "not_paid")), "awaiting"),
        (pay(("pending", "not_paid")), "not_paid"),
        (pay(("pending", "not_paid"), ("pending", "not_paid")), "not_paid"),
        ([], "not_paid"),
    ],
)
def test_group_payment_status(members: list[GroupMember], expected: str) -> None:
    assert group_payment_status(members) == expected


def test_group_payment_archived_after_cancel_counts_as_canceled() -> None:
    members = [
        GroupMember("archived", "refunded", was_canceled=True),
        GroupMember("pending", "captured"),
    ]
    assert group_payment_status(members) == "partially_refunded"
    members = [
        GroupMember("archived", "canceled", was_canceled=True),
        GroupMember("completed", "captured"),
    ]
    assert group_payment_status(members) == "captured"
    # without the flag an archived order is an ordinary, non-canceled order
    members = [GroupMember("archived", "authorized"), GroupMember("completed", "captured")]
    assert group_payment_status(members) == "partially_captured"


# ----------------------------------------------------------------------------- group fulfillment


def ful(*members: tuple[str, str]) -> list[GroupMember]:
    return [GroupMember(status=s, fulfillment_status=f) for s, f in members]


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        # delivered
        (ful(("pending", "delivered")), "delivered"),
        (ful(("pending", "delivered"), ("completed", "delivered")), "delivered"),
        (ful(("pending", "partially_delivered")), "partially_delivered"),
        (ful(("pending", "delivered"), ("pending", "shipped")), "partially_delivered"),
        (ful(("pending", "delivered"), ("pending", "not_fulfilled")), "partially_delivered"),
        (ful(("pending", "delivered"), ("pending", "canceled")), "partially_delivered"),
        (ful(("pending", "delivered"), ("canceled", "not_fulfilled")), "delivered"),
        (ful(("pending", "delivered"), ("canceled", "canceled")), "delivered"),
        # shipped
        (ful(("pending", "shipped")), "shipped"),
        (ful(("pending", "shipped"), ("pending", "shipped")), "shipped"),
        (ful(("pending", "partially_shipped")), "partially_shipped"),
        (ful(("pending", "shipped"), ("pending", "fulfilled")), "partially_shipped"),
        (ful(("pending", "shipped"), ("pending", "not_fulfilled")), "partially_shipped"),
        (ful(("pending", "shipped"), ("canceled", "not_fulfilled")), "shipped"),
        # fulfilled
        (ful(("pending", "fulfilled")), "fulfilled"),
        (ful(("pending", "fulfilled"), ("pending", "fulfilled")), "fulfilled"),
        (ful(("pending", "partially_fulfilled")), "partially_fulfilled"),
        (ful(("pending", "fulfilled"), ("pending", "not_fulfilled")), "partially_fulfilled"),
        (ful(("pending", "fulfilled"), ("pending", "partially_fulfilled")), "partially_fulfilled"),
        (ful(("pending", "fulfilled"), ("canceled", "canceled")), "fulfilled"),
        # canceled / not fulfilled
        (ful(("pending", "canceled")), "canceled"),
        (ful(("canceled", "canceled"), ("pending", "canceled")), "canceled"),
        (ful(("pending", "canceled"), ("pending", "not_fulfilled")), "not_fulfilled"),
        (ful(("canceled", "not_fulfilled"), ("canceled", "not_fulfilled")), "not_fulfilled"),
        (ful(("pending", "not_fulfilled")), "not_fulfilled"),
        ([], "not_fulfilled"),
    ],
)
def test_group_fulfillment_status(members: list[GroupMember], expected: str) -> None:
    assert group_fulfillment_status(members) == expected


def test_group_statuses_bundle() -> None:
    members = [
        GroupMember("completed", "captured", "delivered"),
        GroupMember("canceled", "canceled", "not_fulfilled"),
    ]
    assert group_statuses(members) == GroupStatuses("completed", "captured", "delivered")


# ----------------------------------------------------------------------------- per-order payment


def pc(status: str, amount: int, captured: int = 0, refunded: int = 0) -> PaymentCollectionFacts:
    return PaymentCollectionFacts(status, amount, captured, refunded)


@pytest.mark.parametrize(
    ("collections", "expected"),
    [
        # the reference's unit-test examples
        ([], "not_paid"),
        ([pc("not_paid", 100), pc("awaiting", 100)], "awaiting"),
        ([pc("awaiting", 100), pc("authorized", 100), pc("canceled", 100)], "partially_authorized"),
        ([pc("authorized", 10, 10), pc("authorized", 10, 5)], "partially_captured"),
        ([pc("canceled", 100), pc("canceled", 100)], "canceled"),
        ([pc("requires_action", 100), pc("authorized", 100, 100)], "requires_action"),
        # realistic single collections (2.8 statuses)
        ([pc("not_paid", 100)], "not_paid"),
        ([pc("awaiting", 100)], "awaiting"),
        ([pc("authorized", 100)], "authorized"),
        ([pc("authorized", 100, 50)], "partially_captured"),
        ([pc("completed", 100, 100)], "captured"),
        ([pc("completed", 100, 100, 100)], "refunded"),
        ([pc("completed", 100, 100, 30)], "partially_refunded"),
        ([pc("authorized", 100, 50, 20)], "refunded"),  # quirk: both counters at 0.5
        ([pc("partially_authorized", 100)], "not_paid"),  # quirk: bucket never read
        ([pc("failed", 100)], "not_paid"),
        ([pc("canceled", 100)], "canceled"),
        ([pc("canceled", 100, 100, 100)], "refunded"),  # canceled after capture: refunded
        ([pc("authorized", 0)], "captured"),  # zero-amount rule
        ([pc("authorized", 100, 99)], "partially_captured"),  # exact: no epsilon in minor units
        ([pc("authorized", 100), pc("canceled", 100)], "authorized"),
    ],
)
def test_last_payment_status(collections: list[PaymentCollectionFacts], expected: str) -> None:
    assert last_payment_status(collections) == expected


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (OrderPaymentFacts(5400), "not_paid"),  # no collection
        (OrderPaymentFacts(5400, collection_status="not_paid"), "not_paid"),
        (OrderPaymentFacts(5400, collection_status="awaiting"), "awaiting"),
        (OrderPaymentFacts(5400, collection_status="authorized"), "authorized"),
        (OrderPaymentFacts(5400, 5400, collection_status="authorized"), "captured"),
        (OrderPaymentFacts(5400, 5400, collection_status="completed"), "captured"),
        (OrderPaymentFacts(5400, 1000, collection_status="authorized"), "partially_captured"),
        (OrderPaymentFacts(5400, 5400, 5400, collection_status="completed"), "refunded"),
        (OrderPaymentFacts(5400, 5400, 400, collection_status="completed"), "partially_refunded"),
        (OrderPaymentFacts(5400, collection_status="authorized", canceled=True), "canceled"),
        (
            OrderPaymentFacts(5400, 5400, 5400, collection_status="authorized", canceled=True),
            "refunded",
        ),
        (OrderPaymentFacts(5400, collection_status="requires_action"), "requires_action"),
        (OrderPaymentFacts(0, collection_status="authorized"), "captured"),
    ],
)
def test_order_payment_status(facts: OrderPaymentFacts, expected: str) -> None:
    assert order_payment_status(facts) == expected


def test_sibling_capture_does_not_move_an_order() -> None:
    """Two orders sharing one authorized collection: capturing A leaves B authorized."""
    a = OrderPaymentFacts(5400, captured=5400, collection_status="authorized")
    b = OrderPaymentFacts(4500, captured=0, collection_status="authorized")
    assert (order_payment_status(a), order_payment_status(b)) == ("captured", "authorized")
    group = [GroupMember("pending", order_payment_status(x)) for x in (a, b)]
    assert group_payment_status(group) == "partially_captured"


def test_statuses_are_known_values() -> None:
    assert order_payment_status(OrderPaymentFacts(1)) in PAYMENT_STATUSES
    assert order_fulfillment_status([]) in FULFILLMENT_STATUSES


# ---------------------------------------------------------------------------- per-order fulfillment

PACKED = FulfillmentFacts(packed=True)
SHIPPED = FulfillmentFacts(packed=True, shipped=True)
DELIVERED = FulfillmentFacts(packed=True, shipped=True, delivered=True)
CANCELED = FulfillmentFacts(packed=True, canceled=True)
BARE = FulfillmentFacts()
DONE = [ItemFulfillmentFacts(quantity=2, fulfilled_quantity=2)]
HALF = [ItemFulfillmentFacts(quantity=2, fulfilled_quantity=1)]


@pytest.mark.parametrize(
    ("fulfillments", "items", "expected"),
    [
        # the reference's examples
        ([SHIPPED, DELIVERED], DONE, "partially_delivered"),
        ([DELIVERED, CANCELED], DONE, "delivered"),
        ([PACKED, SHIPPED, CANCELED], DONE, "partially_shipped"),
        ([BARE], DONE, "not_fulfilled"),
        # edge cases
        ([], [], "not_fulfilled"),
        ([], HALF, "not_fulfilled"),
        ([CANCELED], HALF, "canceled"),
        ([CANCELED, CANCELED], DONE, "canceled"),
        ([SHIPPED, CANCELED], DONE, "shipped"),
        ([PACKED], DONE, "fulfilled"),
        ([PACKED, PACKED], DONE, "fulfilled"),
        ([PACKED, BARE], DONE, "partially_fulfilled"),
        ([DELIVERED], DONE, "delivered"),
        ([DELIVERED, DELIVERED], DONE, "delivered"),
        # the unfulfilled-items rule keeps each level partial
        ([PACKED], HALF, "partially_fulfilled"),
        ([SHIPPED], HALF, "partially_shipped"),
        ([DELIVERED], HALF, "partially_delivered"),
        ([DELIVERED, CANCELED], HALF, "partially_delivered"),
        ([PACKED], [ItemFulfillmentFacts(2, None)], "fulfilled"),  # unknown detail: ignored
        ([PACKED], [*DONE, ItemFulfillmentFacts(3, 0)], "partially_fulfilled"),
    ],
)
def test_order_fulfillment_status(
    fulfillments: list[FulfillmentFacts], items: list[ItemFulfillmentFacts], expected: str
) -> None:
    assert order_fulfillment_status(fulfillments, items) == expected


def test_canceled_flag_wins_over_later_timestamps() -> None:
    assert order_fulfillment_status([FulfillmentFacts(True, True, True, True)], DONE) == "canceled"


# ----------------------------------------------------------------------------- transitions


def test_cancel_guards() -> None:
    ensure_can_cancel("order_1", "pending")
    ensure_can_cancel("order_1", "pending", [CANCELED, CANCELED])
    ensure_can_cancel("order_1", "completed", [])
    with pytest.raises(DomainError) as err:
        ensure_can_cancel("order_1", "pending", [CANCELED, PACKED])
    assert err.value.message == "All fulfillments must be canceled before canceling an order"
    assert err.value.type == "not_allowed"
    with pytest.raises(DomainError) as err:
        ensure_can_cancel("order_1", "canceled")
    assert err.value.message == "Order with id order_1 has been canceled."
    assert err.value.type == "invalid_data"


@pytest.mark.parametrize("status", ["pending", "completed", "archived", "requires_action"])
def test_complete_allowed(status: str) -> None:
    ensure_can_complete("order_1", status)


def test_cannot_complete_a_canceled_order() -> None:
    with pytest.raises(DomainError) as err:
        ensure_can_complete("order_1", "canceled")
    assert err.value.message == "Orders order_1 are canceled and cannot be completed"
    assert err.value.type == "invalid_data"


@pytest.mark.parametrize("status", ["completed", "canceled", "draft"])
def test_archive_allowed(status: str) -> None:
    ensure_can_archive("order_1", status)


@pytest.mark.parametrize("status", ["pending", "requires_action", "archived"])
def test_archive_refused(status: str) -> None:
    with pytest.raises(DomainError) as err:
        ensure_can_archive("order_1", status)
    assert err.value.message == (
        "Orders order_1 are completed, canceled, or in draft and cannot be archived"
    )
    assert err.value.type == "invalid_data"
