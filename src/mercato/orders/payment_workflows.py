"""Per-order money as workflows: capture, refund, the payment-wide capture, order cancel and
the cancel of an order edit whose collection was authorized (its authorization voided).

A payment provider is an external system that may take a second to answer, so it is never
called while rows are locked. Each command runs the same three steps (issue 16 §3):

1. **request** (transaction 1): load the order group through the repository (group, orders,
   collection locked), let the aggregate check the rules and hold the amount
   (``request_capture`` / ``request_refund`` / ``request_payment_capture`` /
   ``request_cancel``), record a ``workflow_run`` whose state lists the held calls with their
   provider idempotency keys and the ids the records will get, and commit. From now on the
   repository counts the held amounts as pending (``OrderGroupRepository.get``), so a
   concurrent request cannot capture or refund the same money.
2. **call the provider**, with no transaction open, each call with its idempotency key.
3. **finish** (transaction 2): reload the group (locks again), lock the run and check it is
   still running, then book what the provider did (``complete_*``: records, statuses, events)
   and release what it refused (``abandon*``: the compensation of step 1's hold); mark the run
   succeeded or compensated and commit. A refusal is then the API's error
   (``Payment <id> could not be captured by the provider``).

A process that dies between the steps leaves the run ``running``: the recovery sweep
(``workflows.runs.sweep``) hands it to :func:`recover`, which repeats the provider calls with the
same keys (the provider answers as it did the first time and moves no money twice) and finishes
it. A provider that raised (no answer) leaves the run to the sweep the same way.

Idempotency: the route's ``Idempotency-Key`` record replays a retry before anything here runs.
Behind it, the key scoped to the resource, the operation and the actor
(``<order>:capture:<actor>:<key>``) is the run's key (unique), the provider's key and the
``idempotency_key`` of the capture / refund row: a retry finds the run and records nothing (or is
refused when it asks for another amount; 409 while the first request still runs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from ulid import ULID

from mercato.domain import edits
from mercato.domain.errors import DomainError
from mercato.domain.money import field_minor
from mercato.domain.order_group import CONFLICT, MoneyRequest, OrderGroup
from mercato.domain.returns import Actor
from mercato.errors import invalid, not_allowed, not_found
from mercato.idempotency.service import ClientKey, check_key, key_in_use, key_reused
from mercato.orders.models import OrderGroupOrder, OrderPaymentCollection
from mercato.orders.repository import OrderGroupRepository
from mercato.payments.models import Payment
from mercato.payments.providers import PaymentProviderPort, ProviderFactory, get_provider
from mercato.unit_of_work import UnitOfWork
from mercato.workflows import runs as workflow_runs
from mercato.workflows.models import COMPENSATED, RUNNING, SUCCEEDED, WorkflowRun

CAPTURE = "order.capture"
REFUND = "order.refund"
PAYMENT_CAPTURE = "payment.capture"
CANCEL = "order.cancel"
EDIT_CANCEL = "order_edit.cancel"

# What the provider answers when it did what was asked, and the error when it did not.
_DONE = {"capture": "captured", "refund": "refunded", "void": "canceled"}
_REFUSED = {"capture": "captured", "refund": "refunded", "void": "voided"}


def in_progress(order_id: str) -> DomainError:
    """409: another payment operation of the order is at the provider right now."""
    return DomainError(
        f"Order {order_id} has a payment operation in progress; retry once it has ended",
        type=CONFLICT,
    )


# --------------------------------------------------------------------------- keys and amounts


def scoped_key(scope: str, operation: str, client_key: ClientKey | None) -> str:
    """The stored (and provider) key: the client's key scoped to the resource, the operation and
    the actor (as the route's ``Idempotency-Key`` is), or a fresh unique one without a key."""
    if client_key is None:
        return f"{scope}:{operation}:auto-{ULID()}"
    check_key(client_key.key)
    return f"{scope}:{operation}:{client_key.actor}:{client_key.key}"


def _minor(amount: Decimal | None, currency_code: str) -> int | None:
    return None if amount is None else field_minor("amount", amount, currency_code)


# --------------------------------------------------------------------------- the run's state


@dataclass(frozen=True)
class Call:
    """One provider call of a run: what it moves, its idempotency key and the id of the record
    it books (a capture or refund; none for a void). Stored in the run's ``state["held"]``,
    whose ``kind``/``order_id``/``amount`` the repository counts as pending."""

    kind: str  # capture | refund | void
    order_id: str
    payment_id: str
    provider_id: str
    amount: int
    key: str
    record_id: str | None = None

    @classmethod
    def of(cls, request: MoneyRequest, *, key: str, record_id: str | None) -> Call:
        return cls(
            request.kind,
            request.order_id,
            request.payment_id,
            request.provider_id,
            request.amount,
            key,
            record_id,
        )

    @property
    def request(self) -> MoneyRequest:
        return MoneyRequest(
            self.kind, self.order_id, self.payment_id, self.provider_id, self.amount
        )


@dataclass(frozen=True)
class Plan:
    """A run's state: the calls it holds and what finishing them needs."""

    name: str
    group_id: str
    calls: tuple[Call, ...]
    order_id: str | None = None
    requested: int | None = None  # the explicit amount asked for (a retry must ask the same)
    created_by: str | None = None
    note: str | None = None
    reason: str | None = None
    change_id: str | None = None  # the order edit an edit cancel is for
    run_id: str = ""

    def state(self) -> dict[str, Any]:
        return {
            "held": [asdict(call) for call in self.calls],
            "order_id": self.order_id,
            "requested": self.requested,
            "created_by": self.created_by,
            "note": self.note,
            "reason": self.reason,
            "change_id": self.change_id,
        }

    @classmethod
    def of_run(cls, run: WorkflowRun) -> Plan:
        state = run.state
        return cls(
            name=run.name,
            group_id=run.subject_id,
            calls=tuple(Call(**held) for held in state["held"]),
            order_id=state.get("order_id"),
            requested=state.get("requested"),
            created_by=state.get("created_by"),
            note=state.get("note"),
            reason=state.get("reason"),
            change_id=state.get("change_id"),
            run_id=run.id,
        )


async def _start(uow: UnitOfWork, plan: Plan, key: str) -> Plan | None:
    """Record the run in the command's transaction (step 1); ``None`` when a run with ``key``
    exists already (a concurrent retry won: its outcome is this request's outcome)."""
    run = await workflow_runs.start(
        uow.session,
        name=plan.name,
        key=key,
        subject_id=plan.group_id,
        step="requested",
        state=plan.state(),
        now=uow.now(),
    )
    if run is None:
        return None
    return replace(plan, run_id=run.id)


def _replay(run: WorkflowRun, requested: int | None, client_key: ClientKey | None) -> None:
    """A retry of the request that started ``run``: nothing is recorded again. Raises when it
    asks for another amount (400), while the first still runs (409) or when the provider
    refused the first (its error again)."""
    held = sum(int(call["amount"]) for call in run.state["held"])
    if client_key is not None and requested is not None and held != requested:
        raise key_reused(client_key.key)
    if run.status == RUNNING:
        raise key_in_use()
    if run.status == COMPENSATED and run.error:
        raise not_allowed(run.error)


async def _replayed(
    session: AsyncSession, key: str, *, requested: int | None, client_key: ClientKey | None
) -> bool:
    """Whether this request already ran (checked under the group lock, before any rule)."""
    run = await workflow_runs.by_key(session, key)
    if run is None:
        return False
    _replay(run, requested, client_key)
    return True


async def _lost_race(
    session: AsyncSession, key: str, requested: int | None, client_key: ClientKey | None
) -> None:
    """``start`` found the key taken: the other request's run decides."""
    run = await workflow_runs.by_key(session, key)
    assert run is not None
    _replay(run, requested, client_key)


# --------------------------------------------------------------------------- steps 2 and 3


async def _call_provider(plan: Plan, providers: ProviderFactory) -> list[bool]:
    """Step 2, outside any transaction: each call in order, stopping at the first refusal (the
    calls after it are not made). A provider that raises leaves the run to the sweep."""
    answers: list[bool] = []
    for call in plan.calls:
        provider: PaymentProviderPort = providers(call.provider_id)
        if call.kind == "capture":
            result = await provider.capture(amount=call.amount, idempotency_key=call.key)
        elif call.kind == "refund":
            result = await provider.refund(amount=call.amount, idempotency_key=call.key)
        else:
            result = await provider.cancel(amount=call.amount, idempotency_key=call.key)
        answers.append(result.status == _DONE[call.kind])
        if not answers[-1]:
            break
    return answers


def _book(group: OrderGroup, plan: Plan, answers: Sequence[bool], uow: UnitOfWork) -> str | None:
    """Book what the provider did, release what it refused or was never asked; returns the
    refusal's message (None when everything went through). A payment-wide capture refused for
    its second order keeps the first order's capture: the provider made it, the books say so
    (the run is ``compensated`` for the rest, and a retry with its key answers the refusal)."""
    now = uow.now()
    refused = next((c for c, ok in zip(plan.calls, answers, strict=False) if not ok), None)
    if plan.name == CANCEL:
        assert plan.order_id is not None
        voids = [c.request for c in plan.calls if c.kind == "void"]
        refunds = [c for c in plan.calls if c.kind == "refund"]
        if refused is None and len(answers) == len(plan.calls):
            group.complete_cancel(
                plan.order_id,
                voids=voids,
                refunds=[(c.request, c.record_id or "", c.key) for c in refunds],
                canceled_by=plan.created_by,
                ids=uow.ids,
                now=now,
            )
        else:
            group.abandon_cancel(voids, [c.request for c in refunds])
    elif plan.name == EDIT_CANCEL:
        assert plan.order_id is not None and plan.change_id is not None
        voids = [c.request for c in plan.calls]
        if refused is None and len(answers) == len(plan.calls):
            actor = Actor(plan.created_by, now, uow.ids)
            edits.complete_cancel(group, plan.order_id, plan.change_id, voids, actor)
        else:
            edits.abandon_cancel(group, voids)
    else:
        for index, call in enumerate(plan.calls):
            if index >= len(answers) or not answers[index]:
                group.abandon(call.request)
            elif call.kind == "capture":
                assert call.record_id is not None
                group.complete_capture(
                    call.request,
                    capture_id=call.record_id,
                    idempotency_key=call.key,
                    created_by=plan.created_by,
                    ids=uow.ids,
                    now=now,
                )
            else:
                assert call.record_id is not None
                group.complete_refund(
                    call.request,
                    refund_id=call.record_id,
                    idempotency_key=call.key,
                    created_by=plan.created_by,
                    ids=uow.ids,
                    now=now,
                    note=plan.note,
                    reason=plan.reason,
                )
    if refused is None:
        return None
    return f"Payment {refused.payment_id} could not be {_REFUSED[refused.kind]} by the provider"


async def _finish(uow: UnitOfWork, plan: Plan, answers: Sequence[bool]) -> str | None:
    """Step 3: book or release under the locks again; returns the refusal's message. A run
    another process finished meanwhile (the sweep) is left as it is: its outcome stands."""
    async with uow:
        groups = OrderGroupRepository(uow.session)
        group = await groups.get(plan.group_id)
        run = await uow.session.get(
            WorkflowRun, plan.run_id, with_for_update=True, populate_existing=True
        )
        assert run is not None
        if run.status != RUNNING:
            return run.error if run.status != SUCCEEDED else None
        error = _book(group, plan, answers, uow)
        await groups.save(group)
        uow.track(group)
        if error is None:
            await workflow_runs.succeed(uow.session, run.id, now=uow.now())
        else:
            await workflow_runs.compensated(uow.session, run.id, now=uow.now(), error=error)
        await uow.commit()
    return error


async def _run(uow: UnitOfWork, plan: Plan, providers: ProviderFactory) -> None:
    """Steps 2 and 3 of a run step 1 committed; the provider's refusal is a 400."""
    answers = await _call_provider(plan, providers)
    error = await _finish(uow.fresh(), plan, answers)
    if error is not None:
        raise not_allowed(error)


def default_providers(sessionmaker: async_sessionmaker[AsyncSession]) -> ProviderFactory:
    """The production providers, journaling through ``sessionmaker``."""

    def providers(provider_id: str) -> PaymentProviderPort:
        return get_provider(provider_id, sessionmaker)

    return providers


async def recover(
    sessionmaker: async_sessionmaker[AsyncSession],
    run: WorkflowRun,
    *,
    providers: ProviderFactory | None = None,
) -> None:
    """The sweep's recoverer for every money workflow: repeat the run's provider calls with
    the same keys, then book or release as step 3 does. Idempotent: a finished run is left
    alone, the provider answers a repeated key as it did the first time."""
    plan = Plan.of_run(run)
    answers = await _call_provider(plan, providers or default_providers(sessionmaker))
    await _finish(UnitOfWork(sessionmaker), plan, answers)


for _name in (CAPTURE, REFUND, PAYMENT_CAPTURE, CANCEL, EDIT_CANCEL):
    workflow_runs.register_recoverer(_name, recover)


def refuse_while_canceling(
    groups: OrderGroupRepository,
    group_id: str,
    order_id: str,
    *,
    names: tuple[str, ...] = (CANCEL,),
) -> None:
    """409 while the order's cancel is at the provider. It holds the whole share, so a capture
    or refund now would be refused for want of money the client cannot see, and a fulfilment
    would be packed for an order about to be canceled: the client retries once it has ended.
    ``names=(EDIT_CANCEL,)``: while its edit's cancel voids an authorization, the edit must not
    be changed or confirmed."""
    for run in groups.running(group_id):
        if run.name in names and run.state.get("order_id") == order_id:
            raise in_progress(order_id)


def _calls(
    requests: Sequence[MoneyRequest], key: str, record: str | None, uow: UnitOfWork
) -> tuple[Call, ...]:
    """One call per request (one per collection touched); the first keeps ``key`` and the
    others add their payment to it, so each provider call has its own idempotency key."""
    return tuple(
        Call.of(
            request,
            key=key if index == 0 else f"{key}:{request.payment_id}",
            record_id=uow.ids(record) if record else None,
        )
        for index, request in enumerate(requests)
    )


# --------------------------------------------------------------------------- commands


async def capture_order(
    uow: UnitOfWork,
    *,
    order_id: str,
    amount: Decimal | None = None,
    seller_id: str | None = None,
    created_by: str | None = None,
    idempotency_key: ClientKey | None = None,
    providers: ProviderFactory,
) -> None:
    """``POST /admin|vendor/orders/:id/capture``: up to the order's share minus its captures,
    held or done (default: all of it). 404 outside ``seller_id``'s scope; 400 when canceled,
    for 0, for nothing left or more than what is left. A retried key records nothing."""
    key = scoped_key(order_id, "capture", idempotency_key)
    run_key = f"{CAPTURE}:{key}"
    async with uow:
        groups = OrderGroupRepository(uow.session)
        group = await groups.for_order(order_id, seller_id=seller_id)
        requested = _minor(amount, group.currency_code)
        if await _replayed(uow.session, run_key, requested=requested, client_key=idempotency_key):
            return
        refuse_while_canceling(groups, group.id, order_id)
        requests = group.request_capture(order_id, requested, seller_id=seller_id)
        for request in requests:  # an unavailable provider is a 400 before anything
            providers(request.provider_id)
        plan = await _start(
            uow,
            Plan(
                CAPTURE,
                group.id,
                _calls(requests, key, "capt", uow),
                order_id=order_id,
                requested=requested,
                created_by=created_by,
            ),
            run_key,
        )
        if plan is None:
            return await _lost_race(uow.session, run_key, requested, idempotency_key)
        await uow.commit()
    await _run(uow, plan, providers)


async def refund_order(
    uow: UnitOfWork,
    *,
    order_id: str,
    amount: Decimal | None = None,
    note: str | None = None,
    reason: str | None = None,
    seller_id: str | None = None,
    created_by: str | None = None,
    idempotency_key: ClientKey | None = None,
    providers: ProviderFactory,
    payment_id: str | None = None,
) -> None:
    """``POST /admin|vendor/orders/:id/refund``: up to what was captured for the order minus
    its refunds, held or done (default: its refund due), newest collection first — or from
    ``payment_id`` only (``POST /admin/payments/:id/refund``); beyond that 400 and nothing is
    recorded."""
    key = scoped_key(order_id, "refund", idempotency_key)
    run_key = f"{REFUND}:{key}"
    async with uow:
        groups = OrderGroupRepository(uow.session)
        group = await groups.for_order(order_id, seller_id=seller_id)
        requested = _minor(amount, group.currency_code)
        if await _replayed(uow.session, run_key, requested=requested, client_key=idempotency_key):
            return
        refuse_while_canceling(groups, group.id, order_id)
        requests = group.request_refund(
            order_id, requested, seller_id=seller_id, payment_id=payment_id
        )
        for request in requests:
            providers(request.provider_id)
        plan = await _start(
            uow,
            Plan(
                REFUND,
                group.id,
                _calls(requests, key, "ref", uow),
                order_id=order_id,
                requested=requested,
                created_by=created_by,
                note=note,
                reason=reason,
            ),
            run_key,
        )
        if plan is None:
            return await _lost_race(uow.session, run_key, requested, idempotency_key)
        await uow.commit()
    await _run(uow, plan, providers)


async def order_of_payment(session: AsyncSession, payment_id: str, order_id: str | None) -> str:
    """The order a refund of ``payment_id`` is for (order-changes.md §3.6): ``order_id`` when
    the payment serves several orders (required then), else its one order."""
    collection_id = await session.scalar(
        select(Payment.payment_collection_id).where(Payment.id == payment_id)
    )
    if collection_id is None:
        raise not_found("Payment", payment_id)
    orders = list(
        await session.scalars(
            select(OrderPaymentCollection.order_id)
            .where(OrderPaymentCollection.payment_collection_id == collection_id)
            .order_by(OrderPaymentCollection.order_id)
        )
    )
    if not orders:
        raise not_found("Payment", payment_id)
    if order_id is None:
        if len(orders) > 1:
            raise invalid(
                f"order_id is required: payment {payment_id} is shared by orders "
                f"{', '.join(orders)}"
            )
        return orders[0]
    if order_id not in orders:
        raise invalid(f"Payment collection {collection_id} is not linked to order {order_id}")
    return order_id


async def capture_target(
    session: AsyncSession, payment_id: str, order_id: str | None, amount: Decimal | None
) -> str | None:
    """The one order a ``POST /admin/payments/:id/capture`` is for (admin-dashboard.md §6):
    ``order_id`` when given (one of the payment's orders); an ``amount`` on a payment serving
    several orders needs it. None: capture across the payment's orders (Medusa's route)."""
    if order_id is not None:
        return await order_of_payment(session, payment_id, order_id)
    if amount is None:
        return None
    collection_id = await session.scalar(
        select(Payment.payment_collection_id).where(Payment.id == payment_id)
    )
    if collection_id is None:
        raise not_found("Payment", payment_id)
    count = await session.scalar(
        select(func.count())
        .select_from(OrderPaymentCollection)
        .where(OrderPaymentCollection.payment_collection_id == collection_id)
    )
    if count is not None and count > 1:
        raise invalid(
            f"Payment {payment_id} serves {count} orders; pass order_id or use "
            "POST /admin/orders/<id>/capture"
        )
    return None


async def _group_of_payment(session: AsyncSession, payment_id: str) -> str | None:
    """The order group paid by ``payment_id`` (404 for an unknown payment; None when no order
    was placed with it)."""
    collection_id = await session.scalar(
        select(Payment.payment_collection_id).where(Payment.id == payment_id)
    )
    if collection_id is None:
        raise not_found("Payment", payment_id)
    return await session.scalar(
        select(OrderGroupOrder.order_group_id)
        .join(OrderPaymentCollection, OrderPaymentCollection.order_id == OrderGroupOrder.order_id)
        .where(OrderPaymentCollection.payment_collection_id == collection_id)
        .limit(1)
    )


async def capture_payment(
    uow: UnitOfWork,
    *,
    payment_id: str,
    amount: Decimal | None = None,
    created_by: str | None = None,
    idempotency_key: ClientKey | None = None,
    providers: ProviderFactory,
) -> None:
    """``POST /admin/payments/:id/capture`` (Medusa-compatible): capture across every order of
    the payment, in order-id order, each capped at what is left of its share (default:
    everything left). Nothing left is a no-op; more → 400 with Medusa's message."""
    scope = scoped_key(payment_id, "capture", idempotency_key)
    run_key = f"{PAYMENT_CAPTURE}:{scope}"
    async with uow:
        group_id = await _group_of_payment(uow.session, payment_id)
        if group_id is None:
            return
        groups = OrderGroupRepository(uow.session)
        group = await groups.get(group_id)
        requested = _minor(amount, group.currency_code)
        if await _replayed(uow.session, run_key, requested=requested, client_key=idempotency_key):
            return
        requests = group.request_payment_capture(payment_id, requested)
        if not requests:
            return
        providers(requests[0].provider_id)
        plan = await _start(
            uow,
            Plan(
                PAYMENT_CAPTURE,
                group.id,
                tuple(
                    Call.of(r, key=f"{scope}:{r.order_id}", record_id=uow.ids("capt"))
                    for r in requests
                ),
                requested=requested,
                created_by=created_by,
            ),
            run_key,
        )
        if plan is None:
            return await _lost_race(uow.session, run_key, requested, idempotency_key)
        await uow.commit()
    await _run(uow, plan, providers)


async def cancel_order(
    uow: UnitOfWork,
    *,
    order_id: str,
    seller_id: str | None = None,
    canceled_by: str | None = None,
    providers: ProviderFactory,
) -> None:
    """Void the order's uncaptured share (key ``<order>:void``), refund what was captured for it
    (``<order>:cancel-refund``), release its reservations and mark it canceled — its siblings'
    authorization stays valid. 409 while another payment operation of the order runs."""
    async with uow:
        groups = OrderGroupRepository(uow.session)
        group = await groups.for_order(order_id, seller_id=seller_id)
        voids, refunds = group.request_cancel(order_id, seller_id=seller_id)
        if not voids and not refunds:  # nothing at the provider: one transaction
            group.complete_cancel(
                order_id,
                voids=(),
                refunds=(),
                canceled_by=canceled_by,
                ids=uow.ids,
                now=uow.now(),
            )
            await groups.save(group)
            uow.track(group)
            await uow.commit()
            return
        calls = [
            *_calls(voids, f"{order_id}:void", None, uow),
            *_calls(refunds, f"{order_id}:cancel-refund", "ref", uow),
        ]
        for call in calls:
            providers(call.provider_id)
        key = f"{CANCEL}:{order_id}:{ULID()}"
        plan = await _start(
            uow,
            Plan(CANCEL, group.id, tuple(calls), order_id=order_id, created_by=canceled_by),
            key,
        )
        assert plan is not None  # a fresh key
        await uow.commit()
    await _run(uow, plan, providers)


async def cancel_edit(
    uow: UnitOfWork,
    *,
    order_id: str,
    seller_id: str | None = None,
    canceled_by: str | None = None,
    providers: ProviderFactory,
) -> None:
    """``DELETE /admin|vendor/order-edits/:id`` (order-changes.md §9): the order's active edit
    canceled. Nothing was applied, so only money moves back: the unpaid change collection is
    re-synced to what the order owes without the edit, and an authorization taken for the edit
    is voided first (key ``<change>:void``), outside the locks like an order cancel's; the edit
    is canceled once the provider voided it (a refusal leaves the edit as it was, 400). While
    the void runs, the order's edit commands answer 409."""
    async with uow:
        groups = OrderGroupRepository(uow.session)
        group = await groups.for_order(order_id, seller_id=seller_id)
        refuse_while_canceling(groups, group.id, order_id, names=(EDIT_CANCEL,))
        change_id, voids = edits.request_cancel(group, order_id, seller_id=seller_id)
        if not voids:  # nothing at the provider: one transaction
            actor = Actor(canceled_by, uow.now(), uow.ids)
            edits.complete_cancel(group, order_id, change_id, (), actor)
            await groups.save(group)
            uow.track(group)
            await uow.commit()
            return
        calls = _calls(voids, f"{change_id}:void", None, uow)
        for call in calls:
            providers(call.provider_id)
        plan = await _start(
            uow,
            Plan(
                EDIT_CANCEL,
                group.id,
                calls,
                order_id=order_id,
                created_by=canceled_by,
                change_id=change_id,
            ),
            f"{EDIT_CANCEL}:{change_id}:{ULID()}",
        )
        assert plan is not None  # a fresh key
        await uow.commit()
    await _run(uow, plan, providers)
