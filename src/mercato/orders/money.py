"""Per-order money (orders.md, "Money: one customer payment, per-order shares").

The customer authorized one payment for the whole cart; each order holds its own share of it
(``order_payment_collection.amount``). Captures and refunds are always attributed to one order:

* an order's capturable amount is ``share − Σ its captures`` (nothing once it is canceled);
* its refundable amount is ``Σ its captures − Σ its refunds``.

Every capture / refund writes a ``capture`` / ``refund`` row, an order transaction (captures
positive, refunds negative), moves the collection's ``captured_amount`` / ``refunded_amount``,
calls the provider once with the row's idempotency key, recomputes the stored statuses and stages
``payment.captured`` / ``payment.refunded``.

Concurrency: a command locks its order rows first (ascending ids), then the payment collection
``FOR UPDATE``, then (through ``refresh_statuses``) the group. Every money change of a collection
therefore runs one at a time, which keeps ``captured ≤ share`` per order, ``Σ captures ≤
authorized`` per collection and ``refunded ≤ captured`` true under concurrent requests.

Idempotency: the routes' ``Idempotency-Key`` record (``mercato.idempotency``) replays a retry
before anything here runs. Behind it, as a second line (a claim taken over after a crash, a key
reused after its record expired), the key is stored scoped (``<order>:capture:<actor>:<key>``)
in the unique ``idempotency_key`` column and given to the provider. A retry finds the row and
records nothing (or is refused when it asks for another amount); two concurrent retries queue on
the order lock, and should anything bypass it, the unique constraint decides (the loser's
``IntegrityError`` becomes the winner's outcome). The rows are flushed *before* the provider is
called, so a duplicate never reaches the provider.

Route-level commands (``capture_order``, ``refund_order``, ``capture_payment``) each own one
transaction and dispatch their events after the commit. ``void_order_share`` and
``refund_captured`` run inside the caller's transaction (order cancel) and never commit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from ulid import ULID

from mercato.db.base import new_id
from mercato.domain.money import exponent, field_minor
from mercato.errors import invalid, not_allowed, not_found
from mercato.events.service import dispatch, emit
from mercato.idempotency.service import ClientKey, check_key, key_reused
from mercato.orders.models import Order, OrderPaymentCollection, OrderTransaction
from mercato.orders.service import lock_order, refresh_statuses
from mercato.payments.models import Capture, Payment, PaymentCollection, Refund
from mercato.payments.providers import get_provider

Sessionmaker = async_sessionmaker[AsyncSession]

# Medusa's message for ``POST /admin/payments/:id/capture`` (sic: "substracted").
PAYMENT_OVER_CAPTURE = (
    "You cannot capture more than the authorized amount substracted by what is already captured."
)


# --------------------------------------------------------------------------- keys and amounts


def scoped_key(scope: str, operation: str, client_key: ClientKey | None) -> str:
    """The stored (and provider) key: the client's key scoped to the resource, the operation and
    the actor (as the route's ``Idempotency-Key`` is), or a fresh unique one without a key."""
    if client_key is None:
        return f"{scope}:{operation}:auto-{ULID()}"
    check_key(client_key.key)
    return f"{scope}:{operation}:{client_key.actor}:{client_key.key}"


def _fmt(amount: int, currency_code: str) -> str:
    """Minor units as an exact major-unit string with the currency, for error messages."""
    exp = exponent(currency_code)
    return f"{Decimal(amount).scaleb(-exp):.{exp}f} {currency_code.upper()}"


def _minor(amount: Decimal | None, currency_code: str) -> int | None:
    return None if amount is None else field_minor("amount", amount, currency_code)


# --------------------------------------------------------------------------- shares


@dataclass
class _Share:
    """One order's share of its collection, read under the order and collection locks."""

    order: Order
    collection: PaymentCollection
    payment: Payment | None
    allocated: int
    captured: int
    refunded: int

    @property
    def currency_code(self) -> str:
        return self.collection.currency_code

    @property
    def capturable(self) -> int:
        if self.order.canceled_at is not None or self.order.status == "canceled":
            return 0
        return max(self.allocated - self.captured, 0)

    @property
    def refundable(self) -> int:
        return self.captured - self.refunded


async def _sums(session: AsyncSession, model: type, order_ids: list[str]) -> dict[str, int]:
    rows = await session.execute(
        select(model.order_id, func.sum(model.amount))
        .where(model.order_id.in_(order_ids))
        .group_by(model.order_id)
    )
    return {order_id: int(total) for order_id, total in rows}


async def _lock_collections(
    session: AsyncSession, collection_ids: Iterable[str]
) -> dict[str, PaymentCollection]:
    ids = sorted(set(collection_ids))
    if not ids:
        return {}
    rows = await session.scalars(
        select(PaymentCollection)
        .where(PaymentCollection.id.in_(ids))
        .order_by(PaymentCollection.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {c.id: c for c in rows}


async def _shares(session: AsyncSession, orders: list[Order]) -> dict[str, _Share]:
    """The orders' shares; locks their collections (call after the order rows are locked)."""
    ids = [o.id for o in orders]
    links = {
        link.order_id: link
        for link in await session.scalars(
            select(OrderPaymentCollection).where(OrderPaymentCollection.order_id.in_(ids))
        )
    }
    collections = await _lock_collections(
        session, (link.payment_collection_id for link in links.values())
    )
    payments: dict[str, Payment] = {}
    if collections:
        for payment in await session.scalars(
            select(Payment)
            .where(Payment.payment_collection_id.in_(list(collections)))
            .order_by(Payment.created_at, Payment.id)
            .execution_options(populate_existing=True)
        ):
            payments.setdefault(payment.payment_collection_id, payment)
    captured = await _sums(session, Capture, ids)
    refunded = await _sums(session, Refund, ids)
    shares = {}
    for order in orders:
        link = links.get(order.id)
        if link is None:
            continue
        shares[order.id] = _Share(
            order=order,
            collection=collections[link.payment_collection_id],
            payment=payments.get(link.payment_collection_id),
            allocated=link.amount,
            captured=captured.get(order.id, 0),
            refunded=refunded.get(order.id, 0),
        )
    return shares


async def _share_of(session: AsyncSession, order: Order, operation: str) -> _Share:
    share = (await _shares(session, [order])).get(order.id)
    if share is None or share.payment is None:
        raise invalid(f"Order {order.id} has no authorized payment to {operation}")
    return share


async def _settle(
    session: AsyncSession,
    collection: PaymentCollection,
    payment: Payment | None,
    *,
    voided: frozenset[str] = frozenset(),
) -> None:
    """Collection and payment bookkeeping after a money change (collection locked).

    * collection ``completed`` once its captures reach its amount (Medusa 2.8, §5.1);
    * payment ``captured_at`` once no order of the collection has anything left to capture;
    * every order voided (canceled): collection ``canceled``, and the payment ``canceled_at``
      when nothing was ever captured (reference §9 scenarios 24/25).

    ``voided`` names orders whose share is being voided but which are not marked canceled yet.
    """
    now = datetime.now(UTC)
    rows = list(
        await session.execute(
            select(
                OrderPaymentCollection.order_id,
                OrderPaymentCollection.amount,
                Order.canceled_at,
                Order.status,
            )
            .join(Order, Order.id == OrderPaymentCollection.order_id)
            .where(OrderPaymentCollection.payment_collection_id == collection.id)
        )
    )
    captured = await _sums(session, Capture, [r[0] for r in rows])
    open_orders = [
        (order_id, allocated)
        for order_id, allocated, canceled_at, status in rows
        if order_id not in voided and canceled_at is None and status != "canceled"
    ]
    left = sum(max(allocated - captured.get(order_id, 0), 0) for order_id, allocated in open_orders)
    if (
        collection.status != "canceled"
        and collection.amount > 0
        and collection.captured_amount >= collection.amount
    ):
        collection.status = "completed"
        collection.completed_at = collection.completed_at or now
    if rows and not open_orders:
        collection.status = "canceled"
        if payment is not None and collection.captured_amount == 0 and payment.canceled_at is None:
            payment.canceled_at = now
    elif (
        payment is not None
        and left == 0
        and collection.captured_amount > 0
        and payment.captured_at is None
    ):
        payment.captured_at = now
    collection.updated_at = now


# --------------------------------------------------------------------------- recording


async def _record_capture(
    session: AsyncSession,
    sessionmaker: Sessionmaker,
    share: _Share,
    amount: int,
    *,
    key: str,
    created_by: str | None,
) -> str:
    """Capture ``amount`` for the share's order; returns the staged event id."""
    payment = share.payment
    assert payment is not None and 0 < amount <= share.capturable
    order = share.order
    capture = Capture(
        id=new_id("capt"),
        payment_id=payment.id,
        order_id=order.id,
        amount=amount,
        idempotency_key=key,
        created_by=created_by,
    )
    session.add(capture)
    session.add(
        OrderTransaction(
            order_id=order.id,
            amount=amount,
            currency_code=order.currency_code,
            reference="capture",
            reference_id=capture.id,
        )
    )
    await session.flush()  # a duplicate key fails here, before the provider is called
    result = await get_provider(payment.provider_id, sessionmaker).capture(
        amount=amount, idempotency_key=key
    )
    if result.status != "captured":
        raise not_allowed(f"Payment {payment.id} could not be captured by the provider")
    share.captured += amount
    share.collection.captured_amount += amount
    event = emit(
        session,
        "payment.captured",
        {"id": payment.id, "order_id": order.id, "capture_id": capture.id},
    )
    await session.flush()  # the outbox id is assigned on insert
    return event.id


async def _record_refund(
    session: AsyncSession,
    sessionmaker: Sessionmaker,
    share: _Share,
    amount: int,
    *,
    key: str,
    created_by: str | None,
    note: str | None = None,
    reason: str | None = None,
) -> str:
    """Refund ``amount`` of what was captured for the share's order; returns the event id."""
    payment = share.payment
    assert payment is not None and 0 < amount <= share.refundable
    order = share.order
    refund = Refund(
        id=new_id("ref"),
        payment_id=payment.id,
        order_id=order.id,
        amount=amount,
        note=note,
        reason=reason,
        idempotency_key=key,
        created_by=created_by,
    )
    session.add(refund)
    session.add(
        OrderTransaction(
            order_id=order.id,
            amount=-amount,
            currency_code=order.currency_code,
            reference="refund",
            reference_id=refund.id,
        )
    )
    await session.flush()  # a duplicate key fails here, before the provider is called
    result = await get_provider(payment.provider_id, sessionmaker).refund(
        amount=amount, idempotency_key=key
    )
    if result.status != "refunded":
        raise not_allowed(f"Payment {payment.id} could not be refunded by the provider")
    share.refunded += amount
    share.collection.refunded_amount += amount
    share.collection.updated_at = datetime.now(UTC)
    event = emit(
        session,
        "payment.refunded",
        {"id": payment.id, "order_id": order.id, "refund_id": refund.id},
    )
    await session.flush()  # the outbox id is assigned on insert
    return event.id


# --------------------------------------------------------------------------- one transaction


async def _recorded(session: AsyncSession, model: type, keys: Iterable[str]) -> bool:
    """Whether a capture / refund with one of these idempotency keys exists."""
    keys = list(keys)
    found = await session.scalar(
        select(func.count()).select_from(model).where(model.idempotency_key.in_(keys))
    )
    return bool(found)


async def _replayed(
    session: AsyncSession,
    model: type,
    keys: Iterable[str],
    *,
    requested: int | None,
    client_key: ClientKey | None,
) -> bool:
    """A retry of a request that already happened (checked under the order lock).

    The second line behind the route's ``Idempotency-Key`` record (which lives 24 h): a key
    used again for another explicit amount is refused here too, never silently dropped."""
    recorded, total = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(model.amount), 0)).where(
                model.idempotency_key.in_(list(keys))
            )
        )
    ).one()
    if not recorded:
        return False
    if client_key is not None and requested is not None and total != requested:
        raise key_reused(client_key.key)
    return True


def _is_key_conflict(exc: IntegrityError, model: type) -> bool:
    return f"uq_{model.__tablename__}_idempotency_key" in str(exc.orig)


async def _in_transaction(
    sessionmaker: Sessionmaker,
    work: Callable[[AsyncSession], Awaitable[list[str]]],
    *,
    model: type,
    keys: Callable[[], Iterable[str]],
) -> None:
    """Run ``work`` in one transaction, commit, then dispatch its events.

    A unique violation on one of ``keys()`` means a request with the same idempotency key
    committed first: its outcome is this request's outcome, and nothing more is recorded.
    """
    try:
        async with sessionmaker() as session, session.begin():
            event_ids = await work(session)
    except IntegrityError as exc:
        if not _is_key_conflict(exc, model):
            raise
        async with sessionmaker() as session:
            if not await _recorded(session, model, keys()):
                raise
        return
    await dispatch(sessionmaker, event_ids)


def _refuse_canceled(order: Order) -> None:
    if order.canceled_at is not None or order.status == "canceled":
        raise invalid(f"Order with id {order.id} has been canceled.")


# --------------------------------------------------------------------------- route commands


async def capture_order(
    *,
    sessionmaker: Sessionmaker,
    order_id: str,
    amount: Decimal | None = None,
    seller_id: str | None = None,
    created_by: str | None = None,
    idempotency_key: ClientKey | None = None,
) -> None:
    """``POST /admin|vendor/orders/:id/capture``: up to the order's share minus its captures
    (default: all of it). 404 outside ``seller_id``'s scope; 400 when canceled, for 0, for
    nothing left or more than what is left. A retried ``idempotency_key`` records nothing."""
    key = scoped_key(order_id, "capture", idempotency_key)

    async def work(session: AsyncSession) -> list[str]:
        order = await lock_order(session, order_id, seller_id=seller_id)
        retried = _minor(amount, order.currency_code)
        if await _replayed(session, Capture, [key], requested=retried, client_key=idempotency_key):
            return []
        _refuse_canceled(order)
        share = await _share_of(session, order, "capture")
        currency = share.currency_code
        requested = _minor(amount, currency)
        if requested == 0:
            raise invalid("The amount to capture must be greater than 0")
        left = share.capturable
        if left == 0:
            raise invalid(
                f"Order {order.id} has nothing left to capture: its share of "
                f"{_fmt(share.allocated, currency)} is already captured"
            )
        if requested is not None and requested > left:
            raise invalid(
                f"Cannot capture {_fmt(requested, currency)} for order {order.id}: its share is "
                f"{_fmt(share.allocated, currency)}, of which {_fmt(share.captured, currency)} "
                f"is already captured ({_fmt(left, currency)} left to capture)"
            )
        event_id = await _record_capture(
            session, sessionmaker, share, requested or left, key=key, created_by=created_by
        )
        await _settle(session, share.collection, share.payment)
        await refresh_statuses(session, [order])
        return [event_id]

    await _in_transaction(sessionmaker, work, model=Capture, keys=lambda: [key])


async def refund_order(
    *,
    sessionmaker: Sessionmaker,
    order_id: str,
    amount: Decimal | None = None,
    note: str | None = None,
    reason: str | None = None,
    seller_id: str | None = None,
    created_by: str | None = None,
    idempotency_key: ClientKey | None = None,
) -> None:
    """``POST /admin|vendor/orders/:id/refund``: up to what was captured for the order minus
    what was refunded (default: all of it); beyond that 400 and nothing is recorded."""
    key = scoped_key(order_id, "refund", idempotency_key)

    async def work(session: AsyncSession) -> list[str]:
        order = await lock_order(session, order_id, seller_id=seller_id)
        retried = _minor(amount, order.currency_code)
        if await _replayed(session, Refund, [key], requested=retried, client_key=idempotency_key):
            return []
        share = await _share_of(session, order, "refund")
        currency = share.currency_code
        requested = _minor(amount, currency)
        if requested == 0:
            raise invalid("The amount to refund must be greater than 0")
        left = share.refundable
        if left == 0:
            raise invalid(
                f"Order {order.id} has nothing to refund: {_fmt(share.captured, currency)} "
                f"was captured for it and {_fmt(share.refunded, currency)} already refunded"
            )
        if requested is not None and requested > left:
            raise invalid(
                f"Cannot refund {_fmt(requested, currency)} for order {order.id}: "
                f"{_fmt(share.captured, currency)} was captured for it, of which "
                f"{_fmt(share.refunded, currency)} is already refunded "
                f"({_fmt(left, currency)} left to refund)"
            )
        event_id = await _record_refund(
            session,
            sessionmaker,
            share,
            requested or left,
            key=key,
            created_by=created_by,
            note=note,
            reason=reason,
        )
        await _settle(session, share.collection, share.payment)
        await refresh_statuses(session, [order])
        return [event_id]

    await _in_transaction(sessionmaker, work, model=Refund, keys=lambda: [key])


async def capture_payment(
    *,
    sessionmaker: Sessionmaker,
    payment_id: str,
    amount: Decimal | None = None,
    created_by: str | None = None,
    idempotency_key: ClientKey | None = None,
) -> None:
    """``POST /admin/payments/:id/capture`` (Medusa-compatible): capture across every order of
    the payment's collection, in order-id order, each capped at what is left of its share.

    Default amount: everything left. An already fully captured payment is a no-op (Medusa);
    more than what is left → 400 with Medusa's message; a canceled payment → 400.
    """
    scope = scoped_key(payment_id, "capture", idempotency_key)
    keys: dict[str, str] = {}

    async def work(session: AsyncSession) -> list[str]:
        payment = await session.get(Payment, payment_id)
        if payment is None:
            raise not_found("Payment", payment_id)
        orders = list(
            await session.scalars(
                select(Order)
                .join(OrderPaymentCollection, OrderPaymentCollection.order_id == Order.id)
                .where(
                    OrderPaymentCollection.payment_collection_id == payment.payment_collection_id
                )
                .order_by(Order.id)
                .with_for_update(of=Order)
                .execution_options(populate_existing=True)
            )
        )
        keys.update({o.id: f"{scope}:{o.id}" for o in orders})
        retried = _minor(amount, payment.currency_code)
        if await _replayed(
            session, Capture, keys.values(), requested=retried, client_key=idempotency_key
        ):
            return []
        shares = await _shares(session, orders)
        await session.refresh(payment)
        if payment.canceled_at is not None:
            raise invalid(f"The payment: {payment.id} has been canceled.")
        if payment.captured_at is not None:
            return []
        left = sum(s.capturable for s in shares.values())
        requested = _minor(amount, payment.currency_code)
        if requested == 0:
            raise invalid("The amount to capture must be greater than 0")
        if requested is None:
            requested = left
        if requested == 0:
            return []  # nothing left to capture (the rest was voided): a no-op, as in Medusa
        if requested > left:
            raise invalid(PAYMENT_OVER_CAPTURE)
        event_ids = []
        rest = requested
        for order in orders:  # ascending ids: a fixed, documented order
            share = shares.get(order.id)
            take = min(share.capturable, rest) if share else 0
            if take > 0:
                event_ids.append(
                    await _record_capture(
                        session,
                        sessionmaker,
                        share,
                        take,
                        key=keys[order.id],
                        created_by=created_by,
                    )
                )
                rest -= take
        collection = await session.get(PaymentCollection, payment.payment_collection_id)
        assert collection is not None
        await _settle(session, collection, payment)
        await refresh_statuses(session, orders)
        return event_ids

    await _in_transaction(sessionmaker, work, model=Capture, keys=keys.values)


# --------------------------------------------------------------------------- order cancel


async def void_order_share(
    session: AsyncSession, *, sessionmaker: Sessionmaker, order: Order
) -> None:
    """Void the order's uncaptured share at the provider (``share − captured``, key
    ``<order id>:void``); the siblings' authorization stays valid.

    Runs in the caller's transaction after it locked ``order``; never commits. Locks the
    collection. Bookkeeping: when every order of the collection is now voided the collection
    becomes ``canceled`` (and the payment ``canceled_at`` if nothing was captured); when nothing
    else is left to capture, the payment gets ``captured_at``. The caller marks the order
    canceled and refreshes statuses.
    """
    share = (await _shares(session, [order])).get(order.id)
    if share is None or share.payment is None:
        return
    uncaptured = max(share.allocated - share.captured, 0)
    if uncaptured > 0:
        result = await get_provider(share.payment.provider_id, sessionmaker).cancel(
            amount=uncaptured, idempotency_key=f"{order.id}:void"
        )
        if result.status != "canceled":
            raise not_allowed(f"Payment {share.payment.id} could not be voided by the provider")
    await _settle(session, share.collection, share.payment, voided=frozenset({order.id}))
    await session.flush()


async def refund_captured(
    session: AsyncSession, *, sessionmaker: Sessionmaker, order: Order, created_by: str | None
) -> list[str]:
    """Refund everything still captured for the order (``captured − refunded``), if any.

    Runs in the caller's transaction after it locked ``order``; never commits. Idempotency key
    ``<order id>:cancel-refund``. Returns the staged event ids (dispatch them after commit).
    """
    share = (await _shares(session, [order])).get(order.id)
    if share is None or share.payment is None or share.refundable <= 0:
        return []
    event_id = await _record_refund(
        session,
        sessionmaker,
        share,
        share.refundable,
        key=f"{order.id}:cancel-refund",
        created_by=created_by,
        reason="order_canceled",
    )
    await _settle(session, share.collection, share.payment)
    await refresh_statuses(session, [order])
    return [event_id]


# --------------------------------------------------------------------------- reads


async def payment_view(session: AsyncSession, payment_id: str) -> dict[str, Any]:
    """``{id, amount, currency_code, provider_id, …, captures, refunds}`` in major units."""
    from mercato.domain.money import to_major
    from mercato.query.values import iso

    payment = await session.get(Payment, payment_id, populate_existing=True)
    if payment is None:
        raise not_found("Payment", payment_id)
    currency = payment.currency_code
    captures = await session.scalars(
        select(Capture)
        .where(Capture.payment_id == payment.id)
        .order_by(Capture.created_at, Capture.id)
    )
    refunds = await session.scalars(
        select(Refund).where(Refund.payment_id == payment.id).order_by(Refund.created_at, Refund.id)
    )
    return {
        "id": payment.id,
        "amount": to_major(payment.amount, currency),
        "currency_code": currency,
        "provider_id": payment.provider_id,
        "payment_collection_id": payment.payment_collection_id,
        "captured_at": iso(payment.captured_at),
        "canceled_at": iso(payment.canceled_at),
        "created_at": iso(payment.created_at),
        "updated_at": iso(payment.updated_at),
        "captures": [
            {
                "id": c.id,
                "amount": to_major(c.amount, currency),
                "order_id": c.order_id,
                "created_by": c.created_by,
                "created_at": iso(c.created_at),
            }
            for c in captures
        ],
        "refunds": [
            {
                "id": r.id,
                "amount": to_major(r.amount, currency),
                "order_id": r.order_id,
                "note": r.note,
                "reason": r.reason,
                "created_by": r.created_by,
                "created_at": iso(r.created_at),
            }
            for r in refunds
        ],
    }
