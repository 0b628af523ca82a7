"""Per-order money as workflows (issue 16 §3): the commands run against PostgreSQL with a fake
payment provider (``tests.fakes.FakeProvider``) or the journaled production one.

What the old design could not do: no row lock is held while the provider works; money held by a
run in flight counts as taken; a run interrupted between the provider's answer and the booking
(or before the answer) is finished or released by the recovery sweep, the provider being asked
once per idempotency key."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from mercato.domain.errors import DomainError
from mercato.errors import MercatoError
from mercato.orders import payment_workflows as money
from mercato.orders.models import Order, OrderPaymentCollection
from mercato.payments.models import Capture, PaymentCollection, ProviderCall, Refund
from mercato.payments.providers import ProviderResult, get_provider
from mercato.unit_of_work import UnitOfWork
from mercato.workflows.models import WorkflowRun
from mercato.workflows.runs import register_recoverer, sweep
from tests.api.helpers import error, ok
from tests.fakes import FakeProvider


def fake(provider: object):
    return lambda _provider_id: provider


async def share_of(app, order_id: str) -> int:
    async with app.state.sessionmaker() as session:
        return await session.scalar(
            select(OrderPaymentCollection.amount).where(OrderPaymentCollection.order_id == order_id)
        )


async def scalar(app, query):
    async with app.state.sessionmaker() as session:
        return await session.scalar(query)


async def runs(app) -> list[WorkflowRun]:
    """The money workflows' runs (the checkout that placed the group has its own run)."""
    async with app.state.sessionmaker() as session:
        return list(
            await session.scalars(
                select(WorkflowRun)
                .where(WorkflowRun.name != "checkout.complete")
                .order_by(WorkflowRun.created_at)
            )
        )


def capture(app, order_id: str, amount: int | None, providers, **kwargs):
    return money.capture_order(
        UnitOfWork(app.state.sessionmaker),
        order_id=order_id,
        amount=None if amount is None else Decimal(amount) / 100,
        providers=providers,
        **kwargs,
    )


# --------------------------------------------------------------------------- no lock held


@pytest.mark.slow
async def test_no_row_is_locked_while_the_provider_captures(client, app, engine, placed):
    """While the provider takes its time, another transaction locks the group, its orders and
    the payment collection with NOWAIT; what the run holds counts as taken meanwhile."""
    market, group_id, a, b = placed
    share = await share_of(app, a)
    slow = FakeProvider(id="pp_system_default", delay=1.5)
    running = asyncio.create_task(capture(app, a, 1000, fake(slow)))
    await asyncio.wait_for(slow.entered.wait(), 10)

    async with engine.connect() as conn, conn.begin():
        locked = await conn.scalar(
            text("SELECT id FROM order_group WHERE id = :id FOR UPDATE NOWAIT"), {"id": group_id}
        )
        assert locked == group_id
        orders = await conn.scalars(
            text('SELECT id FROM "order" WHERE id IN (:a, :b) ORDER BY id FOR UPDATE NOWAIT'),
            {"a": a, "b": b},
        )
        assert sorted(orders) == sorted([a, b])
        assert await conn.scalar(text("SELECT id FROM payment_collection FOR UPDATE NOWAIT"))
    assert not running.done()

    # the 10.00 in flight is held: the rest of the share is all another capture may take
    with pytest.raises(DomainError) as refused:
        await capture(app, a, share - 1000 + 1, fake(slow))
    left = Decimal(share - 1000) / 100
    assert refused.value.message == f"Cannot capture more than {left:.2f} USD for order {a}"
    # canceling the order now would void money the provider is capturing: 409
    body = error(
        await client.post(f"/admin/orders/{a}/cancel", headers=market.admin), 409, "conflict"
    )
    assert body == f"Order {a} has a payment operation in progress; retry once it has ended"

    await running
    assert await scalar(app, select(func.sum(Capture.amount)).where(Capture.order_id == a)) == 1000
    assert [(r.name, r.status) for r in await runs(app)] == [(money.CAPTURE, "succeeded")]
    assert slow.made("capture") == [("capture", 1000, slow.calls[0][2])]


@pytest.mark.slow
async def test_concurrent_captures_in_flight_never_exceed_the_share(app, placed):
    """Ten captures whose provider calls overlap (no lock serializes them): the sum booked
    stays within the share, each refusal is the spec's message."""
    _, _, a, _ = placed
    share = await share_of(app, a)
    in_flight = peak = 0

    class Counting(FakeProvider):
        async def capture(self, *, amount: int, idempotency_key: str) -> ProviderResult:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            try:
                return await super().capture(amount=amount, idempotency_key=idempotency_key)
            finally:
                in_flight -= 1

    provider = Counting(id="pp_system_default", delay=0.3)
    amounts = [n * 100 for n in range(1, 11)]  # 55.00 > the share
    outcomes = await asyncio.gather(
        *(capture(app, a, n, fake(provider)) for n in amounts), return_exceptions=True
    )
    booked = [n for n, outcome in zip(amounts, outcomes, strict=True) if outcome is None]
    refused = [o for o in outcomes if o is not None]
    assert all(isinstance(o, DomainError) for o in refused), refused
    assert all(o.message.startswith("Cannot capture more than") for o in refused)
    assert booked and sum(booked) <= share
    assert peak > 1  # the provider calls really overlapped
    captured = await scalar(app, select(func.sum(Capture.amount)).where(Capture.order_id == a))
    assert captured == sum(booked)
    collection = await scalar(app, select(PaymentCollection))
    assert collection.captured_amount == captured
    assert len(provider.made("capture")) == len(booked)
    assert {r.status for r in await runs(app)} == {"succeeded"}


# --------------------------------------------------------------------------- the provider says no


async def test_a_refused_capture_is_released_and_replayed_as_refused(app, placed):
    _, _, a, _ = placed
    share = await share_of(app, a)
    declining = FakeProvider(id="pp_system_default", outcomes={"capture": "declined"})
    with pytest.raises(MercatoError) as refused:
        await capture(app, a, 500, fake(declining), idempotency_key=key("k"))
    assert refused.value.status_code == 400
    assert refused.value.message.endswith("could not be captured by the provider")
    [run] = await runs(app)
    assert (run.status, run.error) == ("compensated", refused.value.message)
    assert await scalar(app, select(func.count()).select_from(Capture)) == 0
    # the hold is released: the whole share can be captured
    await capture(app, a, share, fake(FakeProvider(id="pp_system_default")))
    # the same key again: the first answer, no second provider call
    with pytest.raises(MercatoError) as again:
        await capture(app, a, 500, fake(declining), idempotency_key=key("k"))
    assert again.value.message == refused.value.message
    assert len(declining.calls) == 1


def key(value: str):
    from mercato.idempotency.service import ClientKey

    return ClientKey("user:user_test", value)


# --------------------------------------------------------------------------- recovery


class KilledAfterTheAnswer:
    """The journaled production provider, then the process dies before the booking."""

    def __init__(self, real) -> None:
        self.real, self.id = real, real.id

    async def capture(self, *, amount: int, idempotency_key: str) -> ProviderResult:
        await self.real.capture(amount=amount, idempotency_key=idempotency_key)
        raise asyncio.CancelledError  # as a killed task would stop

    async def refund(self, *, amount: int, idempotency_key: str) -> ProviderResult:
        await self.real.refund(amount=amount, idempotency_key=idempotency_key)
        raise asyncio.CancelledError

    async def cancel(self, *, amount: int | None, idempotency_key: str) -> ProviderResult:
        await self.real.cancel(amount=amount, idempotency_key=idempotency_key)
        raise asyncio.CancelledError


async def test_a_capture_killed_after_the_provider_answered_is_booked_once(app, placed):
    _, _, a, _ = placed
    share = await share_of(app, a)
    sessionmaker = app.state.sessionmaker
    killed = KilledAfterTheAnswer(get_provider("pp_system_default", sessionmaker))
    with pytest.raises(asyncio.CancelledError):
        await capture(app, a, 700, fake(killed))
    [run] = await runs(app)
    assert run.status == "running" and await scalar(app, select(func.count(Capture.id))) == 0
    # still held: the rest of the share only
    with pytest.raises(DomainError):
        await capture(app, a, share - 700 + 1, money.default_providers(sessionmaker))

    assert await sweep(sessionmaker, now=datetime.now(UTC), stale_after=timedelta(0)) == 1
    captures = list(await _all(app, Capture))
    assert [(c.amount, c.order_id) for c in captures] == [(700, a)]
    provider_key = run.state["held"][0]["key"]
    assert captures[0].idempotency_key == provider_key
    calls = await scalar(
        app, select(func.count(ProviderCall.id)).where(ProviderCall.idempotency_key == provider_key)
    )
    assert calls == 1  # the sweep's repeated call was answered from the provider's journal
    assert [r.status for r in await runs(app)] == ["succeeded"]
    order = await scalar(app, select(Order).where(Order.id == a))
    assert order.payment_status == "partially_captured"
    collection = await scalar(app, select(PaymentCollection))
    assert collection.captured_amount == 700

    # a second sweep finds nothing; the recoverer itself is idempotent
    assert await sweep(sessionmaker, now=datetime.now(UTC), stale_after=timedelta(0)) == 0
    await money.recover(sessionmaker, run)
    assert [c.amount for c in await _all(app, Capture)] == [700]


async def _all(app, model):
    async with app.state.sessionmaker() as session:
        return list(await session.scalars(select(model)))


async def test_a_run_stopped_before_the_provider_answered_is_finished_by_the_sweep(app, placed):
    _, _, a, _ = placed
    sessionmaker = app.state.sessionmaker
    unreachable = FakeProvider(id="pp_system_default", fail={"refund": ConnectionError()})
    await capture(app, a, 900, money.default_providers(sessionmaker))
    with pytest.raises(ConnectionError):
        await money.refund_order(
            UnitOfWork(sessionmaker), order_id=a, amount=Decimal(4), providers=fake(unreachable)
        )
    assert [r.status for r in await runs(app)] == ["succeeded", "running"]
    assert await sweep(sessionmaker, now=datetime.now(UTC), stale_after=timedelta(0)) == 1
    refunds = await _all(app, Refund)
    assert [(r.amount, r.order_id) for r in refunds] == [(400, a)]
    assert [r.status for r in await runs(app)] == ["succeeded", "succeeded"]


async def test_a_run_the_provider_refuses_on_recovery_is_compensated(app, placed):
    """Stopped before the answer; on recovery the provider declines: the hold is released."""
    _, _, a, _ = placed
    share = await share_of(app, a)
    sessionmaker = app.state.sessionmaker
    unreachable = FakeProvider(id="pp_system_default", fail={"capture": ConnectionError()})
    with pytest.raises(ConnectionError):
        await capture(app, a, 1200, fake(unreachable))
    declining = FakeProvider(id="pp_system_default", outcomes={"capture": "declined"})

    async def recover_with_the_fake(sm, run):
        await money.recover(sm, run, providers=fake(declining))

    register_recoverer(money.CAPTURE, recover_with_the_fake)
    try:
        assert await sweep(sessionmaker, now=datetime.now(UTC), stale_after=timedelta(0)) == 1
    finally:
        register_recoverer(money.CAPTURE, money.recover)
    [run] = await runs(app)
    assert run.status == "compensated" and "could not be captured" in run.error
    assert await scalar(app, select(func.count(Capture.id))) == 0
    assert len(declining.calls) == 1 and declining.calls[0][2] == run.state["held"][0]["key"]
    await capture(app, a, share, money.default_providers(sessionmaker))  # nothing held now


async def test_a_cancel_killed_after_the_void_is_finished_by_the_sweep(client, app, placed):
    market, _, a, b = placed
    sessionmaker = app.state.sessionmaker
    await capture(app, a, 1000, money.default_providers(sessionmaker))
    killed = KilledAfterTheAnswer(get_provider("pp_system_default", sessionmaker))
    with pytest.raises(asyncio.CancelledError):
        await money.cancel_order(UnitOfWork(sessionmaker), order_id=a, providers=fake(killed))
    # while the cancel is in flight, a capture or refund of the order is told to retry
    for path in ("capture", "refund"):
        body = error(
            await client.post(f"/admin/orders/{a}/{path}", headers=market.admin), 409, "conflict"
        )
        assert "payment operation in progress" in body
    order = ok(await client.get(f"/admin/orders/{a}", headers=market.admin))["order"]
    body = error(
        await client.post(
            f"/admin/orders/{a}/fulfillments",
            json={"items": [{"id": order["items"][0]["id"], "quantity": 1}]},
            headers=market.admin,
        ),
        409,
        "conflict",
    )
    assert body == f"Order {a} has a payment operation in progress; retry once it has ended"
    assert await sweep(sessionmaker, now=datetime.now(UTC), stale_after=timedelta(0)) == 1
    order = await scalar(app, select(Order).where(Order.id == a))
    assert order.status == "canceled"
    refunds = await _all(app, Refund)
    assert [(r.amount, r.reason) for r in refunds] == [(1000, "order_canceled")]
    keys = {k for k in await _keys(app)}
    assert {f"{a}:void", f"{a}:cancel-refund"} <= keys
    sibling = await scalar(app, select(Order).where(Order.id == b))
    assert sibling.status == "pending" and sibling.payment_status == "authorized"


async def _keys(app) -> list[str]:
    async with app.state.sessionmaker() as session:
        rows = await session.execute(
            select(ProviderCall.idempotency_key, func.count()).group_by(
                ProviderCall.idempotency_key
            )
        )
        pairs = rows.all()
    assert all(n == 1 for _, n in pairs)  # one call per key, the repeated ones journaled
    return [k for k, _ in pairs]
