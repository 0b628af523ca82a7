"""An order's view of its payment collections, their payments, refunds and sessions.

A cart's collection serves every order of the group; each order sees only its own share of it
(orders.md, "Money"): the amount allocated to it, what was captured and refunded *for it*, the
payment's share and its refunds (admin-dashboard.md §5.1, order-changes.md §2.4). Collections an
order change created serve that order alone. Amounts are numbers, never null: the dashboard adds
them up.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import BigInteger, Select, cast, func, literal_column, select, union_all

from mercato.domain.money import to_major
from mercato.orders.models import Order, OrderPaymentCollection
from mercato.payments.models import Capture, Payment, PaymentCollection, PaymentSession, Refund
from mercato.query.driver import FixedQuery, keys_param
from mercato.query.fields import Computed, Relation, RenderContext, Resource
from mercato.query.loaders import has_many
from mercato.query.values import absent, attr, money, shape, timestamp

_SHARES = FixedQuery(
    select(
        OrderPaymentCollection.order_id,
        PaymentCollection.id,
        OrderPaymentCollection.amount,
        PaymentCollection.currency_code,
        PaymentCollection.status,
        PaymentCollection.created_at,
        PaymentCollection.source,
        PaymentCollection.order_change_id,
        PaymentCollection.authorized_amount,
        Order.canceled_at,
    )
    .join(PaymentCollection, PaymentCollection.id == OrderPaymentCollection.payment_collection_id)
    .join(Order, Order.id == OrderPaymentCollection.order_id)
    .where(keys_param(OrderPaymentCollection.order_id))
    .order_by(PaymentCollection.created_at, PaymentCollection.id)
)


class OrderPaymentShare:
    """An order's view of a payment collection: only its own amount (its share of the cart's
    collection, or the whole of a collection its change created)."""

    __slots__ = (
        "order_id",
        "id",
        "amount",
        "currency_code",
        "status",
        "created_at",
        "source",
        "order_change_id",
        "collection_authorized",
        "order_canceled_at",
    )

    def __init__(
        self,
        order_id: str,
        id: str,
        amount: int,
        currency_code: str,
        status: str,
        created_at: Any,
        source: str,
        order_change_id: str | None,
        collection_authorized: int,
        order_canceled_at: Any,
    ) -> None:
        self.order_id = order_id
        self.id = id
        self.amount = amount
        self.currency_code = currency_code
        # A canceled order's share of a shared collection was voided: the order sees it
        # ``canceled`` (as its payment status does, ``OrderPaymentFacts``).
        shared = source != "order_change"
        self.status = "canceled" if order_canceled_at is not None and shared else status
        self.created_at = created_at
        self.source = source
        self.order_change_id = order_change_id
        self.collection_authorized = collection_authorized
        self.order_canceled_at = order_canceled_at


async def payment_collections(ctx: RenderContext, orders: list[Any]) -> list[Any]:
    """Each order's links to its payment collections, carrying the order's own share."""
    rows = await _SHARES.rows(
        ctx.session, connection=await ctx.driver(), keys=list({o.id for o in orders})
    )
    links: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        links[row[0]].append(OrderPaymentShare(*row))
    return [links.get(o.id, []) for o in orders]


def _moves(model: type[Capture] | type[Refund], kind: str) -> Select:
    return (
        select(
            model.order_id.label("order_id"),
            Payment.payment_collection_id.label("payment_collection_id"),
            literal_column(f"'{kind}'").label("kind"),
            model.amount.label("amount"),
        )
        .join(Payment, Payment.id == model.payment_id)
        .where(keys_param(model.order_id))
    )


_MOVES = union_all(_moves(Capture, "captured"), _moves(Refund, "refunded")).subquery("moves")
_MOVED = FixedQuery(
    select(
        _MOVES.c.order_id,
        _MOVES.c.payment_collection_id,
        _MOVES.c.kind,
        cast(func.sum(_MOVES.c.amount), BigInteger).label("amount"),
    ).group_by(_MOVES.c.order_id, _MOVES.c.payment_collection_id, _MOVES.c.kind)
)


async def _share_amounts(ctx: RenderContext, shares: list[Any]) -> list[dict[str, Any]]:
    """What was authorized, captured and refunded for each share's order (one statement)."""
    keys = list({s.order_id for s in shares})
    rows = await _MOVED.rows(ctx.session, connection=await ctx.driver(), keys=keys)
    sums: dict[str, dict[tuple[str, str], int]] = {"captured": {}, "refunded": {}}
    for r in rows:
        sums[r.kind][(r.order_id, r.payment_collection_id)] = int(r.amount)
    result = []
    for share in shares:
        key = (share.order_id, share.id)
        captured, refunded = sums["captured"].get(key, 0), sums["refunded"].get(key, 0)
        if share.collection_authorized <= 0:
            authorized = 0
        elif share.order_canceled_at is not None:
            authorized = captured  # the rest of the share was voided with the order
        else:
            authorized = min(share.amount, share.collection_authorized)
        currency = share.currency_code
        result.append(
            {
                "authorized_amount": to_major(authorized, currency),
                "captured_amount": to_major(captured, currency),
                "refunded_amount": to_major(refunded, currency),
            }
        )
    return result


class PaymentShare:
    """A payment as one order sees it: the order's share of it, when that share was fully
    captured, and whether it was voided for the order."""

    __slots__ = (
        "id",
        "order_id",
        "payment_collection_id",
        "provider_id",
        "currency_code",
        "amount",
        "captured_at",
        "canceled_at",
        "created_at",
    )

    def __init__(self, **values: Any) -> None:
        for name, value in values.items():
            setattr(self, name, value)


_PAYMENTS = FixedQuery(
    select(
        Payment.id,
        Payment.payment_collection_id,
        Payment.provider_id,
        Payment.currency_code,
        Payment.amount,
        Payment.canceled_at,
        Payment.created_at,
    )
    .where(keys_param(Payment.payment_collection_id))
    .order_by(Payment.created_at, Payment.id)
)
_CAPTURES = FixedQuery(
    select(Capture.order_id, Capture.payment_id, Capture.amount, Capture.created_at)
    .where(keys_param(Capture.order_id))
    .order_by(Capture.created_at, Capture.id)
)


async def _payments(ctx: RenderContext, shares: list[Any]) -> list[list[PaymentShare]]:
    """Each share's payments, oldest first, the share dealt over them in that order."""
    connection = await ctx.driver()
    payments: dict[str, list[Any]] = defaultdict(list)
    for row in await _PAYMENTS.rows(
        ctx.session, connection=connection, keys=list({s.id for s in shares})
    ):
        payments[row.payment_collection_id].append(row)
    captures: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for row in await _CAPTURES.rows(
        ctx.session, connection=connection, keys=list({s.order_id for s in shares})
    ):
        captures[(row.order_id, row.payment_id)].append(row)
    result = []
    for share in shares:
        left, views = share.amount, []
        for payment in payments.get(share.id, []):
            if payment.canceled_at is None:
                amount = min(left, payment.amount)
                left -= amount
            else:  # a payment voided whole: what would have been the share
                amount = min(share.amount, payment.amount)
            captured, captured_at = 0, None
            for capture in captures.get((share.order_id, payment.id), []):
                captured += capture.amount
                if captured_at is None and captured >= amount:
                    captured_at = capture.created_at
            canceled_at = payment.canceled_at
            if canceled_at is None and share.order_canceled_at is not None and captured < amount:
                canceled_at = share.order_canceled_at  # the order's share was voided
            views.append(
                PaymentShare(
                    id=payment.id,
                    order_id=share.order_id,
                    payment_collection_id=payment.payment_collection_id,
                    provider_id=payment.provider_id,
                    currency_code=payment.currency_code,
                    amount=amount,
                    captured_at=captured_at,
                    canceled_at=canceled_at,
                    created_at=payment.created_at,
                )
            )
        result.append(views)
    return result


_REFUNDS = FixedQuery(
    select(
        Refund.id,
        Refund.payment_id,
        Refund.order_id,
        Refund.amount,
        Refund.note,
        Refund.created_by,
        Refund.created_at,
        Payment.currency_code,
    )
    .join(Payment, Payment.id == Refund.payment_id)
    .where(keys_param(Refund.order_id))
    .order_by(Refund.created_at, Refund.id)
)


async def _refunds(ctx: RenderContext, payments: list[Any]) -> list[list[Any]]:
    """The refunds of each payment booked for the viewing order."""
    found: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for row in await _REFUNDS.rows(
        ctx.session, connection=await ctx.driver(), keys=list({p.order_id for p in payments})
    ):
        found[(row.order_id, row.payment_id)].append(row)
    return [found.get((p.order_id, p.id), []) for p in payments]


# Refund reasons are free text in Mercato: no refund-reason object (a constant null).
REFUND_REASON = shape("refund_reason", "id", "label", "description")
ORDER_REFUND = Resource(
    name="refund",
    fields={
        "id": attr("id"),
        "payment_id": attr("payment_id"),
        "amount": money("amount"),
        "note": attr("note"),
        "created_by": attr("created_by"),
        "created_at": timestamp("created_at"),
    },
    relations={"refund_reason": absent(REFUND_REASON, many=False)},
    defaults=("id", "payment_id", "amount", "note", "created_by", "created_at"),
)
ORDER_PAYMENT = Resource(
    name="payment",
    fields={
        "id": attr("id"),
        "payment_collection_id": attr("payment_collection_id"),
        "provider_id": attr("provider_id"),
        "currency_code": attr("currency_code"),
        "amount": money("amount"),
        "captured_at": timestamp("captured_at"),
        "canceled_at": timestamp("canceled_at"),
        "created_at": timestamp("created_at"),
    },
    relations={"refunds": Relation(lambda: ORDER_REFUND, _refunds, many=True)},
    defaults=(
        "id",
        "payment_collection_id",
        "provider_id",
        "currency_code",
        "amount",
        "captured_at",
        "canceled_at",
        "created_at",
    ),
)
ORDER_PAYMENT_SESSION = Resource(
    name="payment_session",
    fields={
        "id": attr("id"),
        "payment_collection_id": attr("payment_collection_id"),
        "provider_id": attr("provider_id"),
        "amount": money("amount"),
        "currency_code": attr("currency_code"),
        "status": attr("status"),
        "created_at": timestamp("created_at"),
    },
    defaults=("id", "provider_id", "amount", "currency_code", "status", "created_at"),
)
_AMOUNTS = ("authorized_amount", "captured_amount", "refunded_amount")
ORDER_PAYMENT_COLLECTION = Resource(
    name="payment_collection",
    fields={
        "id": attr("id"),
        "currency_code": attr("currency_code"),
        "amount": money("amount"),
        **{name: Computed(_share_amounts, name) for name in _AMOUNTS},
        "status": attr("status"),
        "source": attr("source"),
        "order_change_id": attr("order_change_id"),
        "created_at": timestamp("created_at"),
    },
    relations={
        "payments": Relation(lambda: ORDER_PAYMENT, _payments, many=True),
        "payment_sessions": Relation(
            lambda: ORDER_PAYMENT_SESSION,
            has_many(
                PaymentSession,
                "payment_collection_id",
                order_by=(PaymentSession.created_at, PaymentSession.id),
            ),
            many=True,
        ),
    },
    defaults=("id", "source", "order_change_id", "currency_code", "amount", *_AMOUNTS, "status"),
)
