"""Completing a cart: one order per seller inside one order group, as a workflow of three steps.

The payment provider is an external system that may take a second to answer: it is called with
no transaction open and no row locked, between two short transactions.

1. **Reserve** (one transaction): lock the cart row (``FOR UPDATE``; concurrent completions and
   cart commands queue here); if the cart already has a group, return it (idempotent, nothing is
   written); if a completion of it is in flight, wait for that one; check every precondition
   (items, email, one shipping method per seller, payment, active sellers) before anything is
   written; reserve stock with conditional updates, rows visited in a fixed (location, variant)
   order so concurrent checkouts cannot deadlock and never oversell; record the run
   (``workflow_run`` ``checkout.complete``, key = the cart: what was reserved, the payment session
   and the provider's idempotency keys) and commit — every lock is released.
2. **Authorize** at the provider, outside any transaction, with the idempotency key derived from
   the payment session (a replay answers as the first call did).
3. **Place** (a new transaction): lock the cart again, claim the run, build the orders from the
   split (``domain.split``) and the group with :meth:`OrderGroup.place` (statuses, totals,
   shares), write it through :meth:`OrderGroupRepository.add`, turn the run's reserved stock into
   the new lines' reservations, set ``cart.completed_at``, mark the run succeeded and commit; the
   unit of work writes ``order.placed`` × n and ``order_group.created`` in that transaction and
   dispatches them after the commit.

Compensation, when a later step fails: the provider declines (or wants more) → the attempt is
cancelled at the provider, the reservations are released and the shopper gets the payment error
(the cart stays completable with a new session); a failure after the authorization → the
authorization is voided (``cancel`` with its own key), the reservations released, the error
raised. While a run is in flight, cart commands answer 409 (the cart's contents are becoming
orders). A run interrupted between steps (the process died) is found by the recovery sweep
(``workflows.runs.sweep``) and handed to :func:`recover`: it replays the authorization with the
same key and places the group, or, when that cannot succeed, compensates.

A cart with nothing to pay skips the provider: it is placed in the first transaction.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    DateTime,
    String,
    bindparam,
    exists,
    func,
    literal_column,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mercato.carts.models import Cart, CartLineItem, CartShippingMethod
from mercato.carts.promotions import refresh_promotions
from mercato.carts.service import discounted_document_totals, settle
from mercato.checkout.placement import (
    RELEASE,
    Origin,
    Placeable,
    Subject,
    build_orders,
    check_placeable,
    place_group,
    reserve_stock,
)
from mercato.checkout.promotions import CartPromotions, PromotionRefused, check_promotions, consume
from mercato.domain import order_group as dom
from mercato.domain.payments import PAYMENT_FAILURES
from mercato.domain.split import SellerOrderDraft, split_cart
from mercato.domain.totals import DocumentTotals
from mercato.errors import MercatoError, invalid, not_found
from mercato.orders.models import OrderGroup
from mercato.payments.models import PaymentCollection, PaymentSession
from mercato.payments.providers import (
    PaymentProviderPort,
    ProviderFactory,
    ProviderResult,
    get_provider,
)
from mercato.query.driver import FixedInsert, FixedQuery, driver_connection, rows_of
from mercato.regions.models import Region
from mercato.unit_of_work import UnitOfWork
from mercato.workflows import runs
from mercato.workflows.models import RUNNING, WorkflowRun

log = logging.getLogger("mercato.checkout")

COMPLETION = "checkout.complete"
"""The workflow's name in ``workflow_run``; its key is :func:`run_key` of the cart."""
RESERVED = "reserved"  # step 1 committed: stock reserved, the authorization may have happened
COMPENSATING = "compensating"  # a compensation claimed the run; the void may have happened

WAIT_FOR_RUN = 30.0
"""Seconds a second completion of a cart waits for the one in flight before answering 409."""


def run_key(cart_id: str) -> str:
    """One live (or succeeded) completion run per cart; a compensated run gives its key up so the
    shopper can try again."""
    return f"{COMPLETION}:{cart_id}"


def being_completed(cart_id: str) -> MercatoError:
    return MercatoError(
        "conflict",
        f"Cart {cart_id} is being completed; try again when its completion has finished",
    )


@dataclass(frozen=True)
class PaymentFailure:
    type: str
    message: str


@dataclass(frozen=True)
class CompletionOutcome:
    """Either the group (new or existing) or, when payment was not authorized, the failure."""

    cart_id: str
    order_group_id: str | None = None
    payment_failure: PaymentFailure | None = None


@dataclass
class _Plan:
    """What completion read and checked, as plain rows."""

    cart: Any
    region: Any
    lines: list[Any]
    drafts: list[SellerOrderDraft[Any, Any]]
    totals: dict[str, DocumentTotals]  # per seller
    cart_total: int
    collection: Any | None
    payment_session: Any | None
    placeable: Placeable  # variants, each seller's stock location
    promotions: CartPromotions  # the adjustments to copy, the budgets and limits to consume


@dataclass(frozen=True)
class Started:
    """Step 1 committed: the run, and the plan it was built from (``None`` at recovery, where
    the plan is read again under the cart lock)."""

    run_id: str
    cart_id: str
    state: dict[str, Any]
    plan: _Plan | None = None


@dataclass(frozen=True)
class _InFlight:
    run_id: str


# --------------------------------------------------------------------------- the workflow


async def complete_cart(
    uow: UnitOfWork,
    *,
    cart_id: str,
    sales_channel_ids: tuple[str, ...],
    customer_id: str | None,
    providers: ProviderFactory,
) -> CompletionOutcome:
    """Complete the cart (idempotent): reserve, authorize, place — see the module docstring."""
    step = uow
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_FOR_RUN
    while True:
        try:
            begun = await start(
                step,
                cart_id=cart_id,
                sales_channel_ids=sales_channel_ids,
                customer_id=customer_id,
                providers=providers,
            )
        except PromotionRefused:
            await refresh_cart(uow.fresh(), cart_id)
            raise
        if not isinstance(begun, _InFlight):
            break
        # Another request is completing this cart: its outcome is this request's too.
        await _wait_for(uow.fresh(), begun.run_id, cart_id, deadline)
        step = uow.fresh()
    if isinstance(begun, CompletionOutcome):
        return begun
    provider = providers(begun.state["provider_id"])
    try:
        result = await authorize(provider, begun.state)
    except Exception:
        await compensate(uow.fresh(), provider, begun)
        raise
    if result.status in PAYMENT_FAILURES:
        await compensate(uow.fresh(), provider, begun)
        return CompletionOutcome(
            cart_id, payment_failure=PaymentFailure(*PAYMENT_FAILURES[result.status])
        )
    try:
        return await place(uow.fresh(), begun, captured=result.status == "captured")
    except PromotionRefused:
        await compensate(uow.fresh(), provider, begun)
        await refresh_cart(uow.fresh(), cart_id)
        raise
    except Exception:
        await compensate(uow.fresh(), provider, begun)
        raise


async def refresh_cart(uow: UnitOfWork, cart_id: str) -> None:
    """After a completion refused for a promotion: the cart's promotions evaluated again in
    their own transaction (invalid ones dropped, totals and the payment collection follow, its
    sessions removed), so the shopper sees the new total and confirms payment again."""
    async with uow:
        cart = await uow.session.get(Cart, cart_id, with_for_update=True)
        if cart is not None and cart.completed_at is None:
            await refresh_promotions(uow.session, cart)
            await settle(uow, cart)


async def start(
    uow: UnitOfWork,
    *,
    cart_id: str,
    sales_channel_ids: tuple[str, ...],
    customer_id: str | None,
    providers: ProviderFactory,
) -> Started | CompletionOutcome | _InFlight:
    """Step 1: lock, check, reserve, record the run and commit.

    Returns the existing group's outcome (already completed), the run in flight (another
    completion of the cart), the placed group (nothing to pay) or the started run."""
    async with uow:
        session = uow.session
        carts = await _CART_FOR_UPDATE.rows(session, cart_id=cart_id)
        cart = carts[0] if carts else None
        if cart is None or not _may_access(cart, sales_channel_ids, customer_id):
            raise not_found("Cart", cart_id)
        group_id, run_id = (await _GROUP_OR_RUN.records(session, cart_id=cart.id))[0]
        if group_id is not None:
            return CompletionOutcome(cart.id, order_group_id=group_id)
        if run_id is not None:
            return _InFlight(run_id)
        plan = await _prepare(session, cart)
        reserved = await _reserve_stock(session, plan)
        payment_session = plan.payment_session
        if payment_session is None:
            await _CART_COMPLETED.records(session, cart_id=cart.id, completed_at=uow.now())
            group_id = await _place_orders(uow, plan, reserved, None, captured=False)
            await uow.commit()
            return CompletionOutcome(cart.id, order_group_id=group_id)
        # A provider no longer available: 400 before anything is written.
        providers(payment_session.provider_id)
        key = f"{cart.id}:{payment_session.id}:authorize"
        state = {
            "reserved": [
                [location, variant, quantity] for (location, variant), quantity in reserved.items()
            ],
            "payment_session_id": payment_session.id,
            "provider_id": payment_session.provider_id,
            "amount": plan.cart_total,
            "currency_code": cart.currency_code,
            "data": payment_session.data,
            "authorize_key": key,
            "cancel_key": key.replace(":authorize", ":cancel"),
        }
        now = uow.now()
        run_id = uow.ids("wfrun")
        await _RUN.run(
            session,
            [
                {
                    "id": run_id,
                    "name": COMPLETION,
                    "key": run_key(cart.id),
                    "subject_id": cart.id,
                    "status": RUNNING,
                    "step": RESERVED,
                    "state": state,
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
        await uow.commit()
    return Started(run_id, cart.id, state, plan)


async def authorize(provider: PaymentProviderPort, state: dict[str, Any]) -> ProviderResult:
    """Step 2: the authorization, outside any transaction; a replay (recovery) reuses the key."""
    return await provider.authorize(
        amount=state["amount"],
        currency_code=state["currency_code"],
        data=state["data"],
        idempotency_key=state["authorize_key"],
    )


async def place(uow: UnitOfWork, started: Started, *, captured: bool) -> CompletionOutcome:
    """Step 3: lock the cart again, claim the run and write the group; one transaction."""
    state = started.state
    async with uow:
        session = uow.session
        plan = started.plan
        if plan is None:  # recovery: read the cart again (its commands were refused meanwhile)
            plan = await _replan(session, started)
        if not await _SETTLE.records(
            session,
            run_id=started.run_id,
            cart_id=started.cart_id,
            session_id=state["payment_session_id"],
            now=uow.now(),
        ):
            return await _settled_elsewhere(session, started.cart_id)
        group_id = await _place_orders(uow, plan, _reserved(state), state, captured=captured)
        await uow.commit()
    return CompletionOutcome(started.cart_id, order_group_id=group_id)


async def compensate(uow: UnitOfWork, provider: PaymentProviderPort, started: Started) -> bool:
    """Undo steps 1–2: void the authorization (a ``cancel`` with its own key: whatever the
    provider did for the attempt is released), retire the session (a retry needs a new one),
    release the reservations and mark the run compensated, freeing its key.

    The run is claimed first (step ``compensating``, committed) so a concurrent
    :func:`place` of the same run cannot succeed after the void; ``False`` when the run had
    already been settled elsewhere. Idempotent: an interrupted compensation is resumed by the
    recovery sweep, and the cancel replays with the same key."""
    state = started.state
    now = uow.now()
    async with uow:
        claimed = await _CLAIM.records(
            uow.session,
            run_id=started.run_id,
            step=RESERVED,
            next_step=COMPENSATING,
            status=RUNNING,
            now=now,
        )
        if not claimed and not await _IS_COMPENSATING.records(uow.session, run_id=started.run_id):
            return False
        await uow.commit()
    await provider.cancel(amount=state["amount"], idempotency_key=state["cancel_key"])
    async with uow.fresh() as release:
        session = release.session
        if not await _FINISH_COMPENSATION.records(
            session,
            run_id=started.run_id,
            key=f"{run_key(started.cart_id)}:{started.run_id}",
            now=release.now(),
        ):
            return False
        driver = await driver_connection(session)
        for location_id, variant_id, quantity in sorted(state["reserved"]):
            await RELEASE.records(
                session,
                connection=driver,
                location_id=location_id,
                variant_id=variant_id,
                quantity=quantity,
            )
        await _SESSION_CANCELED.records(session, session_id=state["payment_session_id"])
        await release.commit()
    return True


async def recover(
    sessionmaker: async_sessionmaker[AsyncSession],
    run: WorkflowRun,
    *,
    providers: ProviderFactory | None = None,
) -> None:
    """Finish or compensate a run the sweep found interrupted.

    A run that reserved: the authorization is replayed with the same key (the provider answers
    as it did, or acts now if the first call never reached it); authorized → the group is
    placed, exactly once; declined, unreachable, or the cart can no longer be placed (a seller
    suspended meanwhile, ...) → compensated. A compensation that was interrupted is resumed."""
    factory = providers or (lambda provider_id: get_provider(provider_id, sessionmaker))
    uow = UnitOfWork(sessionmaker)
    started = Started(run.id, run.subject_id, dict(run.state))
    provider = factory(started.state["provider_id"])
    if run.step == RESERVED:
        try:
            result = await authorize(provider, started.state)
            if result.status not in PAYMENT_FAILURES:
                outcome = await place(uow.fresh(), started, captured=result.status == "captured")
                log.info("recovered checkout run %s: %s", run.id, outcome)
                return
        except Exception:
            log.exception("checkout run %s cannot be finished; compensating", run.id)
    await compensate(uow.fresh(), provider, started)


def recoverer(providers: ProviderFactory | None = None) -> runs.Recoverer:
    """The sweep's recoverer for completions (``providers`` replaces the real ones in tests)."""

    async def recover_run(sessionmaker: async_sessionmaker[AsyncSession], run: WorkflowRun) -> None:
        await recover(sessionmaker, run, providers=providers)

    return recover_run


runs.register_recoverer(COMPLETION, recoverer())


async def _wait_for(uow: UnitOfWork, run_id: str, cart_id: str, deadline: float) -> None:
    """Poll the run until it is no longer running (no lock is held meanwhile); 409 at the
    deadline (a run interrupted by a crash is left to the recovery sweep)."""
    loop = asyncio.get_running_loop()
    pause = 0.01
    while True:
        async with uow.fresh() as poll:
            status = await poll.session.scalar(
                select(WorkflowRun.status).where(WorkflowRun.id == run_id)
            )
        if status != RUNNING:
            return
        if loop.time() + pause > deadline:
            raise being_completed(cart_id)
        await asyncio.sleep(pause)
        pause = min(pause * 1.5, 0.2)


async def _settled_elsewhere(session: AsyncSession, cart_id: str) -> CompletionOutcome:
    """The run was settled by someone else (the recovery sweep) while this one was calling the
    provider: its group if it placed one, else 409 (it was compensated: start again)."""
    group_id = (await _GROUP_OR_RUN.records(session, cart_id=cart_id))[0][0]
    if group_id is None:
        raise being_completed(cart_id)
    return CompletionOutcome(cart_id, order_group_id=group_id)


def _may_access(cart: Any, sales_channel_ids: tuple[str, ...], customer_id: str | None) -> bool:
    """A cart is reachable through its own sales channel; a customer's cart only with that
    customer's token (``carts.service.can_access``)."""
    if cart.sales_channel_id not in sales_channel_ids:
        return False
    return cart.customer_id is None or cart.customer_id == customer_id


# What completion reads, as plain rows through the driver (the session's connection and
# transaction): compiled once, no ORM state to build. The cart and its payment collection are
# locked; what completion changes in them it changes with driver statements too.
_CART_FOR_UPDATE = FixedQuery(
    rows_of(Cart).where(Cart.id == bindparam("cart_id", type_=String)).with_for_update()
)
# The cart's group, and its run in flight: two answers, one round trip. The status is written
# in the SQL so the partial index on running runs serves it.
_GROUP_OR_RUN = FixedQuery(
    select(
        select(OrderGroup.id)
        .where(OrderGroup.cart_id == bindparam("cart_id", type_=String))
        .scalar_subquery()
        .label("group_id"),
        select(WorkflowRun.id)
        .where(
            WorkflowRun.subject_id == bindparam("cart_id", type_=String),
            WorkflowRun.status == literal_column(f"'{RUNNING}'"),
        )
        .limit(1)
        .scalar_subquery()
        .label("run_id"),
    )
)
_COLLECTION_FOR_UPDATE = FixedQuery(
    rows_of(PaymentCollection)
    .where(PaymentCollection.cart_id == bindparam("cart_id"))
    .with_for_update()
)
_LATEST_SESSION = FixedQuery(
    rows_of(PaymentSession)
    .where(PaymentSession.payment_collection_id == bindparam("collection_id"))
    .order_by(PaymentSession.created_at.desc(), PaymentSession.id.desc())
    .limit(1)
)
_CART_LINES = FixedQuery(
    rows_of(CartLineItem)
    .where(CartLineItem.cart_id == bindparam("cart_id"))
    .order_by(CartLineItem.created_at, CartLineItem.id)
)
_CART_METHODS = FixedQuery(
    rows_of(CartShippingMethod).where(CartShippingMethod.cart_id == bindparam("cart_id"))
)
_REGION = FixedQuery(rows_of(Region).where(Region.id == bindparam("region_id")))


async def _prepare(session: AsyncSession, cart: Any) -> _Plan:
    """Load the cart and check every precondition; nothing is written here."""
    driver = await driver_connection(session)
    lines = await _CART_LINES.rows(session, connection=driver, cart_id=cart.id)
    methods = await _CART_METHODS.rows(session, connection=driver, cart_id=cart.id)
    if lines and not cart.email:
        raise invalid(f"Cart {cart.id} has no email; set one before completing it")
    drafts = split_cart(lines, methods)
    (region,) = await _REGION.rows(session, connection=driver, region_id=cart.region_id)
    promotions = await check_promotions(session, cart, region, lines, methods)
    amounts = {key: [row.amount for row in rows] for key, rows in promotions.adjustments.items()}
    totals = {
        d.seller_id: discounted_document_totals(
            d.lines, d.shipping_methods, region.tax_rate, amounts
        )
        for d in drafts
    }
    cart_total = sum(t.total for t in totals.values())

    collections = await _COLLECTION_FOR_UPDATE.rows(session, connection=driver, cart_id=cart.id)
    collection = collections[0] if collections else None
    payment_session = None
    if cart_total > 0:
        if collection is None:
            raise invalid("Payment collection has not been initiated for cart")
        sessions = await _LATEST_SESSION.rows(
            session, connection=driver, collection_id=collection.id
        )
        payment_session = sessions[0] if sessions else None
        if payment_session is None:
            raise invalid("Payment sessions are required to complete cart")
        if payment_session.status == "canceled":
            raise invalid(
                f"Payment session {payment_session.id} was canceled; start a new payment session"
            )
        if collection.amount != cart_total or payment_session.amount != cart_total:
            raise invalid(
                "The payment collection amount no longer matches the cart total; "
                "start a new payment session"
            )

    placeable = await check_placeable(
        session, Subject("cart", cart.id, "completed", "line item"), drafts, lines
    )
    return _Plan(
        cart,
        region,
        lines,
        drafts,
        totals,
        cart_total,
        collection,
        payment_session,
        placeable,
        promotions,
    )


async def _replan(session: AsyncSession, started: Started) -> _Plan:
    """At recovery: lock the cart and check it again; it must still be what the run reserved
    for and would pay with (else the run is compensated)."""
    (cart,) = await _CART_FOR_UPDATE.rows(session, cart_id=started.cart_id)
    plan = await _prepare(session, cart)
    state = started.state
    if plan.payment_session is None or plan.payment_session.id != state["payment_session_id"]:
        raise invalid(f"Cart {cart.id} no longer pays with the session its completion authorized")
    if plan.cart_total != state["amount"]:
        raise invalid(f"Cart {cart.id} no longer has the total its completion authorized")
    return plan


async def _reserve_stock(session: AsyncSession, plan: _Plan) -> dict[tuple[str, str], int]:
    """The cart's stock, reserved at each seller's location (``placement.reserve_stock``)."""
    return await reserve_stock(session, plan.lines, plan.placeable)


def _reserved(state: dict[str, Any]) -> dict[tuple[str, str], int]:
    return {(location, variant): quantity for location, variant, quantity in state["reserved"]}


# What completion changes in rows it read, as driver statements (nothing is left for the
# session to flush at commit).
_SESSION_CANCELED = FixedQuery(
    update(PaymentSession)
    .where(PaymentSession.id == bindparam("session_id"))
    .values(status="canceled", updated_at=func.now())
)
# A cart with nothing to pay completes in step 1 (its row is locked already).
_CART_COMPLETED = FixedQuery(
    update(Cart)
    .where(Cart.id == bindparam("cart_id"), Cart.completed_at.is_(None))
    .values(
        completed_at=bindparam("completed_at", type_=DateTime(timezone=True)),
        updated_at=func.now(),
    )
    .returning(Cart.id)
)
# Step 3's first statement, one round trip: claim the run (succeeded, if still running at step
# "reserved": nobody else settled it), lock the cart again and complete it, and mark the session
# authorized — the last two only when the claim succeeded. No row back: settled elsewhere.
_CLAIMED = (
    update(WorkflowRun)
    .where(
        WorkflowRun.id == bindparam("run_id"),
        WorkflowRun.status == literal_column(f"'{RUNNING}'"),
        WorkflowRun.step == literal_column(f"'{RESERVED}'"),
    )
    .values(
        status="succeeded",
        step="done",
        updated_at=bindparam("now", type_=DateTime(timezone=True)),
    )
    .returning(WorkflowRun.id)
    .cte("claimed")
)
_AUTHORIZED = (
    update(PaymentSession)
    .where(PaymentSession.id == bindparam("session_id"), exists(select(_CLAIMED.c.id)))
    .values(status="authorized", updated_at=func.now())
    .returning(PaymentSession.id)
    .cte("authorized")
)
_SETTLE = FixedQuery(
    update(Cart)
    .add_cte(_AUTHORIZED)
    .where(
        Cart.id == bindparam("cart_id"),
        Cart.completed_at.is_(None),
        exists(select(_CLAIMED.c.id)),
    )
    .values(
        completed_at=bindparam("now", type_=DateTime(timezone=True)),
        updated_at=func.now(),
    )
    .returning(Cart.id)
)
# The run's row: inserted by step 1 (the key cannot exist: the cart is locked, it has no group
# and no run in flight, and a compensated run gave its key up); claimed by whoever settles it.
_RUN = FixedInsert(WorkflowRun)
_CLAIM = FixedQuery(
    update(WorkflowRun)
    .where(
        WorkflowRun.id == bindparam("run_id"),
        WorkflowRun.status == literal_column(f"'{RUNNING}'"),
        WorkflowRun.step == bindparam("step"),
    )
    .values(
        step=bindparam("next_step"),
        status=bindparam("status"),
        updated_at=bindparam("now", type_=DateTime(timezone=True)),
    )
    .returning(WorkflowRun.id)
)
_IS_COMPENSATING = FixedQuery(
    select(WorkflowRun.id).where(
        WorkflowRun.id == bindparam("run_id"),
        WorkflowRun.status == literal_column(f"'{RUNNING}'"),
        WorkflowRun.step == literal_column(f"'{COMPENSATING}'"),
    )
)
_FINISH_COMPENSATION = FixedQuery(
    update(WorkflowRun)
    .where(
        WorkflowRun.id == bindparam("run_id"),
        WorkflowRun.status == literal_column(f"'{RUNNING}'"),
        WorkflowRun.step == literal_column(f"'{COMPENSATING}'"),
    )
    .values(
        status="compensated",
        step="compensated",
        key=bindparam("key"),
        updated_at=bindparam("now", type_=DateTime(timezone=True)),
    )
    .returning(WorkflowRun.id)
)


async def _place_orders(
    uow: UnitOfWork,
    plan: _Plan,
    reserved: dict[tuple[str, str], int],
    payment_state: dict[str, Any] | None,
    *,
    captured: bool,
) -> str:
    """Build the orders from the split, place the group, write it; returns the group id.

    The stock the run reserved becomes the reservations of the new lines (each line with a
    managed variant holds its quantity at its seller's location); a mismatch refuses the
    placement (``checkout.placement``, shared with draft order conversion)."""
    cart = plan.cart
    origin = Origin(
        cart_id=cart.id,
        draft_order_id=None,
        customer_id=cart.customer_id,
        sales_channel_id=cart.sales_channel_id,
        currency_code=cart.currency_code,
        email=cart.email,
        region_id=cart.region_id,
        shipping_address=cart.shipping_address,
        billing_address=cart.billing_address,
    )
    orders = build_orders(
        origin=origin,
        drafts=plan.drafts,
        totals=plan.totals,
        tax_rate=plan.region.tax_rate,
        locations=plan.placeable.locations,
        reserved=reserved,
        ids=uow.ids,
        adjustments=plan.promotions.adjustments,
    )
    collection = None
    if plan.collection is not None:
        c = plan.collection
        collection = dom.Collection(
            id=c.id,
            currency_code=c.currency_code,
            amount=c.amount,
            status=c.status,
            authorized_amount=c.authorized_amount,
            captured_amount=c.captured_amount,
            refunded_amount=c.refunded_amount,
            completed_at=c.completed_at,
            updated_at=c.updated_at,
        )
    payment = None
    if collection is not None and payment_state is not None:
        payment = dom.Payment(
            id=uow.ids("pay"),
            collection_id=collection.id,
            provider_id=payment_state["provider_id"],
            amount=payment_state["amount"],
            session_id=payment_state["payment_session_id"],
            data=payment_state["data"],
        )
    group = await place_group(
        uow,
        origin=origin,
        orders=orders,
        collection=collection,
        payment=payment,
        captured=captured,
        now=uow.now(),
    )
    if not plan.promotions.empty:
        await consume(uow, cart, group.id, plan.promotions)
    return group.id
