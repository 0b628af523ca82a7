"""Paying a change collection (order-changes.md §3.5, §3.6, §10) — the collection an order change
created for the amount the customer owes on one order, linked to that order alone — or a draft
order's collection (§12): the unpaid collection a conversion created, shared by the group's
orders like a cart's, each order's allocation = its total.

* ``create_payment_session``: the store route of checkout.md, for a change or draft collection
  in ``not_paid``/``awaiting``: one ``pending`` session for its whole amount.
* ``authorize``: the store's authorize route, a workflow like checkout's — (1) under the
  group's locks check the collection and session and record a ``workflow_run``; (2) call the
  provider with no transaction open, its idempotency key derived from the session; (3) under
  the locks again book the payment (``OrderGroup.authorize_change_collection``, or for a
  draft's ``OrderGroup.authorize_collection``: the group's payment, as checkout's; an
  auto-capturing provider's capture too, per order share) or, when the collection changed
  meanwhile, void the authorization (the compensation). An interrupted run is finished by the
  recovery sweep.
* ``mark_as_paid``: the operator's ``pp_system_default`` bookkeeping payment of the whole
  collection, authorized and captured at once (one capture per order share).

A cart's collection and its allocations are never read or written here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mercato.customers.models import Customer
from mercato.domain.order_changes import ChangeCollection
from mercato.domain.order_group import Collection, MoneyRequest, Order, OrderGroup
from mercato.domain.order_group import Payment as PaymentEntity
from mercato.domain.payments import (
    PAYMENT_FAILURES,
    PP_SYSTEM_DEFAULT,
    UNPAID_COLLECTION_STATUSES,
)
from mercato.errors import MercatoError, invalid, not_allowed, not_found
from mercato.orders.models import OrderPaymentCollection
from mercato.orders.repository import OrderGroupRepository
from mercato.payments.models import Payment, PaymentCollection, PaymentSession
from mercato.payments.providers import ProviderFactory, check_session_data, get_provider
from mercato.regions.models import Region
from mercato.unit_of_work import UnitOfWork
from mercato.workflows import runs as workflow_runs
from mercato.workflows.models import COMPENSATED, RUNNING, SUCCEEDED, WorkflowRun

AUTHORIZE = "change_collection.authorize"
CHANGED = (
    "Payment collection {id} changed while it was being authorized; create a new payment session"
)
PAID_HERE = ("order_change", "draft_order")
"""The sources of the collections paid with these routes (a cart's is paid by completing it)."""


async def is_change_collection(session: AsyncSession, collection_id: str) -> bool:
    """Whether ``collection_id`` is an order change's or a draft order's (paid here) rather
    than a cart's."""
    source = await session.scalar(
        select(PaymentCollection.source).where(PaymentCollection.id == collection_id)
    )
    return source in PAID_HERE


# --------------------------------------------------------------------------- loading


@dataclass
class _Target:
    groups: OrderGroupRepository
    group: OrderGroup
    order: Order  # the change collection's order; a draft collection's first order (by id)
    collection: ChangeCollection | Collection
    shared: bool  # a draft order's collection, shared by the group's orders


async def _target(
    session: AsyncSession, collection_id: str, *, customer: Customer | None, store: bool
) -> _Target:
    """The collection's order group, locked. 404 for an unknown collection or, from the store,
    for one whose orders belong to another customer; 400 for a cart's."""
    row = await session.get(PaymentCollection, collection_id)
    if row is None:
        raise not_found("Payment collection", collection_id)
    if row.source not in PAID_HERE:
        raise not_allowed(
            f"Payment collection {collection_id} belongs to a cart; complete the cart instead"
        )
    order_id = await session.scalar(
        select(OrderPaymentCollection.order_id)
        .where(OrderPaymentCollection.payment_collection_id == collection_id)
        .order_by(OrderPaymentCollection.order_id)
        .limit(1)
    )
    if order_id is None:
        raise not_found("Payment collection", collection_id)
    groups = OrderGroupRepository(session)
    group = await groups.for_order(order_id)
    if (
        store
        and group.customer_id is not None
        and (customer is None or customer.id != group.customer_id)
    ):
        raise not_found("Payment collection", collection_id)
    order = group.order(order_id)
    if row.source == "draft_order":
        shared = group.collection
        assert shared is not None and shared.id == collection_id, "the group's collection"
        return _Target(groups, group, order, shared, shared=True)
    collection = next(c for c in order.change_collections if c.id == collection_id)
    return _Target(groups, group, order, collection, shared=False)


def _ensure_unpaid(collection: ChangeCollection | Collection) -> None:
    if collection.status not in UNPAID_COLLECTION_STATUSES:
        raise not_allowed(
            f"Payment collection {collection.id} is {collection.status} and cannot be paid"
        )


# --------------------------------------------------------------------------- sessions


async def create_payment_session(
    uow: UnitOfWork,
    *,
    collection_id: str,
    customer: Customer | None,
    provider_id: str,
    data: dict[str, Any] | None = None,
) -> None:
    """Replace the change collection's sessions with one ``pending`` session for its amount.
    400 when it is not payable or the provider is unavailable in the order's region."""
    async with uow:
        session = uow.session
        target = await _target(session, collection_id, customer=customer, store=True)
        _ensure_unpaid(target.collection)
        check_session_data(provider_id, data)
        region = await session.get(Region, target.order.region_id)
        if region is not None and provider_id not in region.payment_providers:
            raise invalid(f"Payment provider {provider_id} is not enabled in region {region.id}")
        await session.execute(
            delete(PaymentSession).where(PaymentSession.payment_collection_id == collection_id)
        )
        session.add(
            PaymentSession(
                payment_collection_id=collection_id,
                provider_id=provider_id,
                currency_code=target.collection.currency_code,
                amount=target.collection.amount,
                data=data,
                status="pending",
            )
        )
        await uow.commit()


# --------------------------------------------------------------------------- authorize


def _failure(message: str) -> MercatoError:
    for kind, text in PAYMENT_FAILURES.values():
        if text == message:
            return MercatoError(kind, message)
    return not_allowed(message)


def _replay(run: WorkflowRun) -> None:
    """A second authorize of the same session: its outcome again (409 while it runs)."""
    if run.status == RUNNING:
        raise MercatoError(
            "conflict",
            f"Payment session {run.state['session_id']} is being authorized; retry once it "
            "has ended",
        )
    if run.status == COMPENSATED and run.error:
        raise _failure(run.error)


async def authorize(
    uow: UnitOfWork,
    *,
    collection_id: str,
    session_id: str,
    customer: Customer | None,
    providers: ProviderFactory,
) -> None:
    """Authorize the session's payment of a change collection (order-changes.md §10); 422
    with checkout's messages when the provider declines or needs more."""
    key = f"{collection_id}:{session_id}:authorize"
    async with uow:
        session = uow.session
        target = await _target(session, collection_id, customer=customer, store=True)
        payment_session = await session.get(PaymentSession, session_id)
        if payment_session is None or payment_session.payment_collection_id != collection_id:
            raise not_found("Payment session", session_id)
        run = await workflow_runs.by_key(session, f"{AUTHORIZE}:{key}")
        if run is not None:
            return _replay(run)
        _ensure_unpaid(target.collection)
        provider = providers(payment_session.provider_id)  # unavailable: 400 before anything
        state: dict[str, Any] = {
            "group_id": target.group.id,
            "order_id": target.order.id,
            "shared": target.shared,
            "collection_id": collection_id,
            "session_id": session_id,
            "provider_id": payment_session.provider_id,
            "amount": payment_session.amount,
            "currency_code": payment_session.currency_code,
            "data": payment_session.data,
            "key": key,
            "payment_id": uow.ids("pay"),
            "capture_id": uow.ids("capt"),
        }
        started = await workflow_runs.start(
            session,
            name=AUTHORIZE,
            key=f"{AUTHORIZE}:{key}",
            subject_id=target.group.id,
            step="requested",
            state=state,
            now=uow.now(),
        )
        if started is None:  # a concurrent authorize of the session won the key
            raced = await workflow_runs.by_key(session, f"{AUTHORIZE}:{key}")
            assert raced is not None
            return _replay(raced)
        await uow.commit()
    result = await provider.authorize(
        amount=state["amount"],
        currency_code=state["currency_code"],
        data=state["data"],
        idempotency_key=key,
    )
    error = await _finish(uow.fresh(), started.id, state, result.status)
    if error is not None:
        if error.type == "not_allowed":  # the collection changed: void what was authorized
            await provider.cancel(amount=state["amount"], idempotency_key=f"{key}:void")
        raise error


async def _finish(
    uow: UnitOfWork, run_id: str, state: dict[str, Any], outcome: str
) -> MercatoError | None:
    """Step 3: book the authorization (and an auto-capture), or record the refusal."""
    async with uow:
        session = uow.session
        groups = OrderGroupRepository(session)
        group = await groups.get(state["group_id"])
        run = await session.get(WorkflowRun, run_id, with_for_update=True, populate_existing=True)
        assert run is not None
        if run.status != RUNNING:
            return None if run.status == SUCCEEDED else _failure(run.error or "")
        payment_session = await session.get(PaymentSession, state["session_id"])
        order = group.order(state["order_id"])
        collection: ChangeCollection | Collection | None
        if state.get("shared"):
            collection = group.collection
            if collection is not None and collection.id != state["collection_id"]:
                collection = None
        else:
            collection = next(
                (c for c in order.change_collections if c.id == state["collection_id"]), None
            )
        error: MercatoError | None = None
        if outcome in PAYMENT_FAILURES:
            error = MercatoError(*PAYMENT_FAILURES[outcome])
            if payment_session is not None:
                payment_session.status = "error" if outcome == "declined" else "requires_more"
        elif (
            collection is None
            or collection.status not in UNPAID_COLLECTION_STATUSES
            or collection.amount != state["amount"]
            or payment_session is None
        ):
            error = not_allowed(CHANGED.format(id=state["collection_id"]))
        elif isinstance(collection, Collection):
            _book_shared(group, collection, payment_session, state, uow)
            if outcome == "captured":  # each order's share, as a capturing checkout does
                group.capture_collection(
                    key=f"{state['key']}:capture", created_by=None, ids=uow.ids, now=uow.now()
                )
        else:
            _book(session, group, order, collection, payment_session, state, uow)
            await session.flush()  # the payment row before any capture that references it
            if outcome == "captured":
                _book_auto_capture(group, order, state, uow)
        await groups.save(group)
        uow.track(group)
        if error is None:
            await workflow_runs.succeed(session, run.id, now=uow.now())
        else:
            await workflow_runs.compensated(session, run.id, now=uow.now(), error=error.message)
        await uow.commit()
    return error


def _book(
    session: AsyncSession,
    group: OrderGroup,
    order: Order,
    collection: ChangeCollection,
    payment_session: PaymentSession,
    state: dict[str, Any],
    uow: UnitOfWork,
) -> None:
    session.add(
        Payment(
            id=state["payment_id"],
            payment_collection_id=collection.id,
            payment_session_id=payment_session.id,
            provider_id=payment_session.provider_id,
            currency_code=payment_session.currency_code,
            amount=payment_session.amount,
            data=payment_session.data,
        )
    )
    payment_session.status = "authorized"
    group.authorize_change_collection(
        order.id,
        collection.id,
        payment_id=state["payment_id"],
        provider_id=payment_session.provider_id,
        now=uow.now(),
    )


def _book_shared(
    group: OrderGroup,
    collection: Collection,
    payment_session: PaymentSession,
    state: dict[str, Any],
    uow: UnitOfWork,
) -> None:
    """A draft order's collection authorized: the group's payment (its row is written by the
    repository's ``save``), each order's share now capturable as after checkout."""
    payment_session.status = "authorized"
    group.authorize_collection(
        PaymentEntity(
            id=state["payment_id"],
            collection_id=collection.id,
            provider_id=payment_session.provider_id,
            amount=payment_session.amount,
            session_id=payment_session.id,
            data=payment_session.data,
        ),
        now=uow.now(),
    )


def _book_auto_capture(
    group: OrderGroup, order: Order, state: dict[str, Any], uow: UnitOfWork
) -> None:
    """The provider captured at authorization: the whole collection is captured for the order."""
    request = MoneyRequest(
        "capture", order.id, state["payment_id"], state["provider_id"], state["amount"]
    )
    group.complete_capture(
        request,
        capture_id=state["capture_id"],
        idempotency_key=f"{state['key']}:capture",
        created_by=None,
        ids=uow.ids,
        now=uow.now(),
    )


async def recover(
    sessionmaker: async_sessionmaker[AsyncSession],
    run: WorkflowRun,
    *,
    providers: ProviderFactory | None = None,
) -> None:
    """The sweep's recoverer: repeat the authorization with the same key (the provider answers
    as it did) and finish the run as step 3 does."""
    state = run.state
    provider = (providers or (lambda pid: get_provider(pid, sessionmaker)))(state["provider_id"])
    result = await provider.authorize(
        amount=state["amount"],
        currency_code=state["currency_code"],
        data=state["data"],
        idempotency_key=state["key"],
    )
    error = await _finish(UnitOfWork(sessionmaker), run.id, state, result.status)
    if error is not None and error.type == "not_allowed":
        await provider.cancel(amount=state["amount"], idempotency_key=f"{state['key']}:void")


workflow_runs.register_recoverer(AUTHORIZE, recover)


# --------------------------------------------------------------------------- mark as paid


async def mark_as_paid(
    uow: UnitOfWork, *, collection_id: str, order_id: str, created_by: str | None
) -> None:
    """``POST /admin/payment-collections/:id/mark-as-paid`` (order-changes.md §3.6): a
    ``not_paid`` change or draft collection authorized and captured at once with
    ``pp_system_default`` (bookkeeping: no money moves at a processor), one capture per order
    share (a change collection's one order, a draft's every order)."""
    async with uow:
        session = uow.session
        row = await session.get(PaymentCollection, collection_id)
        if row is None:
            raise not_found("Payment collection", collection_id)
        if row.source not in PAID_HERE or row.status != "not_paid":
            raise not_allowed("Can only mark 'not_paid' payment collection as paid")
        linked = await session.scalar(
            select(OrderPaymentCollection.order_id).where(
                OrderPaymentCollection.payment_collection_id == collection_id,
                OrderPaymentCollection.order_id == order_id,
            )
        )
        if linked is None:
            raise invalid(f"Payment collection {collection_id} is not linked to order {order_id}")
        target = await _target(session, collection_id, customer=None, store=False)
        if target.collection.status != "not_paid":  # changed before the lock was taken
            raise not_allowed("Can only mark 'not_paid' payment collection as paid")
        await session.execute(
            delete(PaymentSession).where(PaymentSession.payment_collection_id == collection_id)
        )
        payment_session = PaymentSession(
            id=uow.ids("payses"),
            payment_collection_id=collection_id,
            provider_id=PP_SYSTEM_DEFAULT,
            currency_code=target.collection.currency_code,
            amount=target.collection.amount,
            status="authorized",
        )
        session.add(payment_session)
        await session.flush()
        state: dict[str, Any] = {
            "payment_id": uow.ids("pay"),
            "provider_id": PP_SYSTEM_DEFAULT,
            "amount": target.collection.amount,
            "capture_id": uow.ids("capt"),
            "key": f"{collection_id}:mark-as-paid",
        }
        if isinstance(target.collection, Collection):
            _book_shared(target.group, target.collection, payment_session, state, uow)
            target.group.capture_collection(
                key=state["key"], created_by=created_by, ids=uow.ids, now=uow.now()
            )
            await target.groups.save(target.group)
            uow.track(target.group)
            await uow.commit()
            return
        _book(session, target.group, target.order, target.collection, payment_session, state, uow)
        await session.flush()
        request = MoneyRequest(
            "capture", target.order.id, state["payment_id"], PP_SYSTEM_DEFAULT, state["amount"]
        )
        target.group.complete_capture(
            request,
            capture_id=state["capture_id"],
            idempotency_key=state["key"],
            created_by=created_by,
            ids=uow.ids,
            now=uow.now(),
        )
        await target.groups.save(target.group)
        uow.track(target.group)
        await uow.commit()
