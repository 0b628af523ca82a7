"""Per-order money (orders.md "Money"): captures and refunds bounded by each order's share,
statuses, idempotency, concurrency, the Medusa-compatible payment capture, vendor scoping and
events — through HTTP against PostgreSQL."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from sqlalchemy import delete, func, select

from mercato.domain.money import to_minor
from mercato.domain.statuses import OrderPaymentFacts, order_payment_status
from mercato.idempotency.models import IdempotencyRecord
from mercato.orders import payment_workflows as money
from mercato.orders.models import Order, OrderPaymentCollection, OrderTransaction
from mercato.payments.models import Capture, Payment, PaymentCollection, ProviderCall, Refund
from mercato.unit_of_work import UnitOfWork
from tests.api.checkout_helpers import build_marketplace, complete, ready_cart
from tests.api.helpers import error, login, ok
from tests.api.recompute import payment_facts


def dec(value) -> Decimal:
    return Decimal(str(value))


async def count(app, model, *where) -> int:
    async with app.state.sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where))


async def total_of(app, model, *where) -> int:
    async with app.state.sessionmaker() as session:
        return int(
            await session.scalar(select(func.coalesce(func.sum(model.amount), 0)).where(*where))
        )


async def member_headers(client, market, seller_id: str, email: str) -> dict[str, str]:
    ok(
        await client.post(
            f"/admin/sellers/{seller_id}/members",
            json={"email": email, "password": "supersecret"},
            headers=market.admin,
        )
    )
    return await login(client, "seller", email, "supersecret")


async def get_order(client, market, order_id: str) -> dict:
    return ok(await client.get(f"/admin/orders/{order_id}", headers=market.admin))["order"]


async def group_status(client, market, group_id: str) -> str:
    body = ok(await client.get(f"/admin/order-groups/{group_id}", headers=market.admin))
    return body["order_group"]["payment_status"]


async def capture(client, headers, order_id, amount=None, *, key=None, vendor=False):
    prefix = "vendor" if vendor else "admin"
    return await client.post(
        f"/{prefix}/orders/{order_id}/capture",
        json=None if amount is None else {"amount": amount},
        headers={**headers, **({"Idempotency-Key": key} if key else {})},
    )


async def refund(client, headers, order_id, amount=None, *, key=None, vendor=False, **extra):
    prefix = "vendor" if vendor else "admin"
    body = {**({} if amount is None else {"amount": amount}), **extra}
    return await client.post(
        f"/{prefix}/orders/{order_id}/refund",
        json=body or None,
        headers={**headers, **({"Idempotency-Key": key} if key else {})},
    )


async def events(client, market, name: str) -> list[dict]:
    body = ok(await client.get("/admin/events", params={"name": name}, headers=market.admin))
    return body["events"]


async def assert_stored_statuses_are_recomputed(app, order_ids) -> None:
    """Stored payment statuses equal ``domain.statuses`` over each order's own facts."""
    async with app.state.sessionmaker() as session:
        orders = list(await session.scalars(select(Order).where(Order.id.in_(order_ids))))
        facts = await payment_facts(session, orders)
        for order in orders:
            assert order.payment_status == order_payment_status(facts[order.id]), order.id


async def test_capturing_one_order_leaves_its_sibling_and_moves_the_group(client, app, placed):
    market, group_id, a, b = placed
    before_b = await get_order(client, market, b)
    assert before_b["payment_status"] == "authorized"
    assert await group_status(client, market, group_id) == "authorized"

    order = ok(await capture(client, market.admin, a))["order"]
    assert order["id"] == a and order["payment_status"] == "captured"
    assert order["paid_total"] == order["total"] and order["refundable_amount"] == order["total"]
    assert order["summary"]["paid_total"] == order["total"]
    assert order["summary"]["transaction_total"] == order["total"]
    assert order["summary"]["pending_difference"] == 0

    sibling = await get_order(client, market, b)
    assert sibling["payment_status"] == "authorized" and sibling["paid_total"] == 0
    assert sibling["summary"]["pending_difference"] == sibling["total"]
    assert await group_status(client, market, group_id) == "partially_captured"
    listed = ok(
        await client.get(
            "/admin/orders", params={"payment_status": "captured"}, headers=market.admin
        )
    )
    assert [o["id"] for o in listed["orders"]] == [a]

    ok(await capture(client, market.admin, b))
    assert (await get_order(client, market, b))["payment_status"] == "captured"
    assert await group_status(client, market, group_id) == "captured"
    await assert_stored_statuses_are_recomputed(app, [a, b])

    async with app.state.sessionmaker() as session:
        collection = await session.scalar(
            select(PaymentCollection)
            .join(OrderPaymentCollection)
            .where(OrderPaymentCollection.order_id == a)
        )
        payment = await session.scalar(
            select(Payment).where(Payment.payment_collection_id == collection.id)
        )
        captured = await session.scalar(select(func.sum(Capture.amount)))
        assert collection.captured_amount == collection.amount == captured
        assert collection.status == "completed" and collection.completed_at is not None
        assert payment.captured_at is not None
        transactions = list(await session.scalars(select(OrderTransaction)))
        assert {t.reference for t in transactions} == {"capture"}
        assert all(t.amount > 0 for t in transactions)
        captures = {c.id for c in await session.scalars(select(Capture))}
        assert {t.reference_id for t in transactions} == captures

    captured_events = await events(client, market, "payment.captured")
    assert len(captured_events) == 2
    assert sorted(e["data"]["order_id"] for e in captured_events) == sorted([a, b])
    assert {e["data"]["id"] for e in captured_events} == {payment.id}
    assert all(e["dispatched_at"] for e in captured_events)


async def test_capture_beyond_the_share_is_refused_and_records_nothing(client, app, placed):
    market, _, a, _ = placed
    order = await get_order(client, market, a)
    total = dec(order["total"])

    message = error(
        await capture(client, market.admin, a, float(total + dec("0.01"))), 400, "invalid_data"
    )
    assert message == f"Cannot capture more than {total:.2f} USD for order {a}"  # orders.md
    error(await capture(client, market.admin, a, 0), 400, "invalid_data")
    error(await capture(client, market.admin, a, 1.001), 400, "invalid_data")
    error(await capture(client, market.admin, a, -1), 400, "invalid_data")
    error(
        await client.post(f"/admin/orders/{a}/capture", json={"foo": 1}, headers=market.admin),
        400,
        "invalid_data",
    )
    assert await count(app, Capture) == 0
    assert await count(app, OrderTransaction) == 0
    assert await count(app, ProviderCall, ProviderCall.operation == "capture") == 0
    after = await get_order(client, market, a)
    assert after["paid_total"] == 0 and after["summary"] == order["summary"]
    assert after["payment_status"] == "authorized"

    # partial captures, then the rest by default
    partial = ok(await capture(client, market.admin, a, 10.5))["order"]
    assert partial["paid_total"] == 10.5 and partial["payment_status"] == "partially_captured"
    assert dec(partial["summary"]["pending_difference"]) == total - dec("10.5")
    again = ok(await capture(client, market.admin, a, 4.5))["order"]
    assert again["paid_total"] == 15
    rest = ok(await capture(client, market.admin, a))["order"]
    assert dec(rest["paid_total"]) == total and rest["payment_status"] == "captured"
    assert [c.amount for c in await _captures(app, a)] == [1050, 450, to_minor(total, "usd") - 1500]
    assert await count(app, ProviderCall, ProviderCall.operation == "capture") == 3

    message = error(await capture(client, market.admin, a), 400, "invalid_data")
    assert "nothing left to capture" in message
    error(await capture(client, market.admin, a, 0.01), 400, "invalid_data")
    assert await count(app, Capture) == 3
    error(
        await capture(client, market.admin, "order_nope"),
        404,
        "not_found",
        "Order with id order_nope was not found",
    )


async def _captures(app, order_id: str) -> list[Capture]:
    async with app.state.sessionmaker() as session:
        return list(
            await session.scalars(
                select(Capture)
                .where(Capture.order_id == order_id)
                .order_by(Capture.created_at, Capture.id)
            )
        )


async def test_refunds_are_bounded_by_what_was_captured(client, app, placed):
    market, group_id, a, b = placed
    message = error(await refund(client, market.admin, a), 400, "invalid_data")
    assert "nothing to refund" in message
    ok(await capture(client, market.admin, a, 10))

    message = error(await refund(client, market.admin, a, 10.01), 400, "invalid_data")
    assert message == f"Cannot refund more than 10.00 USD for order {a}"  # orders.md
    assert await count(app, Refund) == 0
    assert await count(app, ProviderCall, ProviderCall.operation == "refund") == 0

    order = ok(await refund(client, market.admin, a, 4, note="damaged", reason="defect"))["order"]
    # Medusa's quirk kept by the domain: a partial capture plus a partial refund is "refunded".
    facts = OrderPaymentFacts(
        allocated=to_minor(dec(order["total"]), "usd"),
        captured=1000,
        refunded=400,
        collection_status="authorized",
    )
    assert order["payment_status"] == order_payment_status(facts) == "refunded"
    assert order["paid_total"] == 10 and order["refunded_total"] == 4
    assert order["refundable_amount"] == 6
    assert order["summary"]["transaction_total"] == 6
    assert dec(order["summary"]["pending_difference"]) == dec(order["total"]) - 6
    async with app.state.sessionmaker() as session:
        row = await session.scalar(select(Refund))
        assert (row.amount, row.note, row.reason, row.order_id) == (400, "damaged", "defect", a)
        trx = await session.scalar(
            select(OrderTransaction).where(OrderTransaction.reference == "refund")
        )
        assert trx.amount == -400 and trx.reference_id == row.id

    # Nothing is due (no return, no change): the amount is required (order-changes.md §3.6),
    # and what is refunded beyond what is due is booked as a credit line.
    message = error(await refund(client, market.admin, a), 400, "invalid_data")
    assert message == f"amount is required: order {a} has no refund due"
    rest = ok(await refund(client, market.admin, a, 6))["order"]
    assert rest["refunded_total"] == 10 and rest["refundable_amount"] == 0
    assert rest["summary"]["credit_line_total"] == 10
    error(await refund(client, market.admin, a, 0.01), 400, "invalid_data")
    assert await total_of(app, Refund) == 1000

    # full capture then partial refund: partially_refunded; the sibling is untouched
    ok(await capture(client, market.admin, b))
    sibling = ok(await refund(client, market.admin, b, 1))["order"]
    assert sibling["payment_status"] == "partially_refunded"
    assert (await get_order(client, market, a))["payment_status"] == "refunded"
    await assert_stored_statuses_are_recomputed(app, [a, b])
    async with app.state.sessionmaker() as session:
        collection = await session.scalar(select(PaymentCollection))
        assert collection.refunded_amount == 1100
    assert await group_status(client, market, group_id) == "partially_refunded"
    assert len(await events(client, market, "payment.refunded")) == 3
    assert await count(app, ProviderCall, ProviderCall.operation == "refund") == 3


async def forget_idempotency_records(app) -> None:
    """As if every ``Idempotency-Key`` record had expired: only the second line is left."""
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(delete(IdempotencyRecord))


async def test_a_retried_capture_with_the_same_key_records_once(client, app, placed):
    market, _, a, b = placed
    first = await capture(client, market.admin, a, 5, key="retry-1")
    second = await capture(client, market.admin, a, 5, key="retry-1")
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert ok(first) == ok(second) and ok(first)["order"]["paid_total"] == 5
    assert await count(app, Capture, Capture.order_id == a) == 1
    assert await count(app, ProviderCall, ProviderCall.operation == "capture") == 1
    assert len(await events(client, market, "payment.captured")) == 1
    async with app.state.sessionmaker() as session:
        stored = await session.scalar(select(Capture.idempotency_key))
        provider_key = await session.scalar(
            select(ProviderCall.idempotency_key).where(ProviderCall.operation == "capture")
        )
    assert stored == provider_key
    assert stored.startswith(f"{a}:capture:user:user_") and stored.endswith(":retry-1")

    # the same client key on another order is another request
    ok(await capture(client, market.admin, b, 1, key="retry-1"))
    assert await count(app, Capture) == 2

    # two concurrent requests with one key: one capture, one provider call, one event; the
    # other request is its replay or, while the first still runs, a 409
    responses = await asyncio.gather(
        *(capture(client, market.admin, a, 2, key="burst") for _ in range(2))
    )
    assert {r.status_code for r in responses} <= {200, 409}
    bodies = [r.json() for r in responses if r.status_code == 200]
    assert bodies and all(body == bodies[0] for body in bodies)
    assert bodies[0]["order"]["paid_total"] == 7
    assert await count(app, Capture, Capture.order_id == a) == 2
    assert await count(app, ProviderCall, ProviderCall.operation == "capture") == 3
    assert len(await events(client, market, "payment.captured")) == 3

    # refunds too
    r1 = ok(await refund(client, market.admin, a, 1, key="r"))
    r2 = ok(await refund(client, market.admin, a, 1, key="r"))
    assert r1 == r2 and r1["order"]["refunded_total"] == 1
    assert await count(app, Refund) == 1
    assert len(await events(client, market, "payment.refunded")) == 1

    # without a key every request is new
    ok(await capture(client, market.admin, a, 1))
    ok(await capture(client, market.admin, a, 1))
    assert await count(app, Capture, Capture.order_id == a) == 4


async def test_the_unique_key_decides_when_the_replay_check_is_bypassed(
    client, app, placed, monkeypatch
):
    """Should two requests with one key ever both pass the replay check, the unique constraint
    makes the second one return the first one's outcome — before any provider call."""
    market, _, a, _ = placed
    first = ok(await capture(client, market.admin, a, 3, key="k"))

    async def never_replayed(*_args, **_kwargs):
        return False

    monkeypatch.setattr(money, "_replayed", never_replayed)
    await forget_idempotency_records(app)
    second = ok(await capture(client, market.admin, a, 3, key="k"))
    assert second == first
    assert await count(app, Capture) == 1
    assert await count(app, ProviderCall, ProviderCall.operation == "capture") == 1
    assert len(await events(client, market, "payment.captured")) == 1
    ok(await refund(client, market.admin, a, 1, key="k"))
    await forget_idempotency_records(app)
    ok(await refund(client, market.admin, a, 1, key="k"))
    assert await count(app, Refund) == 1


async def test_a_key_whose_record_is_gone_still_captures_once(client, app, placed):
    """The second line behind the route's record (a claim taken over after a crash, a key
    reused after its 24 h): the same amount records nothing, another amount is refused."""
    market, _, a, _ = placed
    first = ok(await capture(client, market.admin, a, 5, key="late"))
    await forget_idempotency_records(app)
    again = await capture(client, market.admin, a, 5, key="late")
    assert ok(again) == first and "Idempotent-Replayed" not in again.headers
    await forget_idempotency_records(app)
    error(
        await capture(client, market.admin, a, 6, key="late"),
        400,
        "invalid_data",
        "Idempotency-Key late was already used for a different request",
    )
    ok(await refund(client, market.admin, a, 1, key="late-r"))
    await forget_idempotency_records(app)
    body = error(await refund(client, market.admin, a, 2, key="late-r"), 400, "invalid_data")
    assert body == "Idempotency-Key late-r was already used for a different request"
    assert await count(app, Capture) == 1 and await total_of(app, Refund) == 100
    assert await count(app, ProviderCall, ProviderCall.operation == "capture") == 1


async def test_concurrent_captures_never_exceed_the_share(client, app, placed):
    market, _, a, b = placed
    total = to_minor(dec((await get_order(client, market, a))["total"]), "usd")
    amounts = list(range(1, 11))  # 55 > the share
    responses = await asyncio.gather(*(capture(client, market.admin, a, n) for n in amounts))
    succeeded = [n for n, r in zip(amounts, responses, strict=True) if r.status_code == 200]
    assert all(r.status_code in (200, 400) for r in responses)
    assert succeeded and sum(succeeded) * 100 <= total
    captured = await total_of(app, Capture, Capture.order_id == a)
    assert captured == sum(succeeded) * 100
    assert await count(app, ProviderCall, ProviderCall.operation == "capture") == len(succeeded)
    order = await get_order(client, market, a)
    assert to_minor(dec(order["paid_total"]), "usd") == captured
    assert (await get_order(client, market, b))["paid_total"] == 0
    async with app.state.sessionmaker() as session:
        collection = await session.scalar(select(PaymentCollection))
        assert collection.captured_amount == captured <= collection.authorized_amount

    # concurrent refunds of everything never exceed what was captured
    responses = await asyncio.gather(*(refund(client, market.admin, a, 4) for _ in range(8)))
    refunded = await total_of(app, Refund)
    assert refunded <= captured and refunded == 400 * sum(r.status_code == 200 for r in responses)
    await assert_stored_statuses_are_recomputed(app, [a, b])


async def test_admin_payment_capture_spreads_across_orders(client, app, admin_headers):
    market = await build_marketplace(client, admin_headers, sellers=3, prices=(20,), shipping=0)
    cart = await ready_cart(client, market)
    group = ok(await complete(client, market, cart["id"]))["order_group"]
    ids = sorted(o["id"] for o in group["orders"])
    totals = {o["id"]: dec(o["total"]) for o in group["orders"]}  # 22 each (10 % tax)
    async with app.state.sessionmaker() as session:
        payment_id = await session.scalar(select(Payment.id))

    url = f"/admin/payments/{payment_id}/capture"
    # admin-dashboard.md §6 (amends orders.md): an amount on a shared payment names its order.
    error(
        await client.post(url, json={"amount": 30}, headers=market.admin),
        400,
        "invalid_data",
        f"Payment {payment_id} serves 3 orders; pass order_id or use "
        "POST /admin/orders/<id>/capture",
    )
    assert await count(app, Capture) == 0
    ok(await client.post(url, json={"amount": 22, "order_id": ids[0]}, headers=market.admin))
    body = {"amount": 8, "order_id": ids[1]}
    first = ok(await client.post(url, json=body, headers=market.admin))["payment"]
    assert first["id"] == payment_id and first["amount"] == 66 and first["currency_code"] == "usd"
    assert first["captured_at"] is None and first["refunds"] == []
    assert [(c["order_id"], c["amount"]) for c in first["captures"]] == [(ids[0], 22), (ids[1], 8)]
    statuses = [(await get_order(client, market, i))["payment_status"] for i in ids]
    assert statuses == ["captured", "partially_captured", "authorized"]

    error(
        await client.post(url, json={"amount": 14.01, "order_id": ids[1]}, headers=market.admin),
        400,
        "invalid_data",
        f"Cannot capture more than 14.00 USD for order {ids[1]}",
    )
    assert await count(app, Capture) == 2
    rest = ok(await client.post(url, headers=market.admin))["payment"]
    assert rest["captured_at"] is not None
    assert [(c["order_id"], c["amount"]) for c in rest["captures"]] == [
        (ids[0], 22),
        (ids[1], 8),
        (ids[1], 14),
        (ids[2], 22),
    ]
    assert sum(dec(c["amount"]) for c in rest["captures"]) == sum(totals.values())
    assert (
        ok(await client.get(f"/admin/order-groups/{group['id']}", headers=market.admin))[
            "order_group"
        ]["payment_status"]
        == "captured"
    )
    # fully captured: a no-op, as in Medusa
    again = ok(await client.post(url, headers=market.admin))["payment"]
    assert again == rest
    assert await count(app, ProviderCall, ProviderCall.operation == "capture") == 4
    assert len(await events(client, market, "payment.captured")) == 4
    await assert_stored_statuses_are_recomputed(app, ids)
    error(
        await client.post("/admin/payments/pay_nope/capture", headers=market.admin),
        404,
        "not_found",
        "Payment with id pay_nope was not found",
    )


async def test_admin_payment_capture_retry_with_a_key(client, app, placed):
    market, _, a, b = placed
    async with app.state.sessionmaker() as session:
        payment_id = await session.scalar(select(Payment.id))
    url = f"/admin/payments/{payment_id}/capture"
    headers = {**market.admin, "Idempotency-Key": "pay-1"}
    # Without an amount: every order's share (an amount on this shared payment needs an
    # order_id, admin-dashboard.md §6).
    responses = await asyncio.gather(
        *(client.post(url, json={}, headers=headers) for _ in range(3))
    )
    assert {r.status_code for r in responses} <= {200, 409}  # 409: the first still ran
    bodies = [r.json()["payment"] for r in responses if r.status_code == 200]
    assert bodies and all(body == bodies[0] for body in bodies)
    assert sum(dec(c["amount"]) for c in bodies[0]["captures"]) == 77  # 2 × 38.50
    assert await total_of(app, Capture) == 7700
    assert await count(app, ProviderCall, ProviderCall.operation == "capture") == 2


async def test_vendors_capture_and_refund_their_own_orders_only(client, app, placed):
    market, _, a, b = placed
    seller_a = market.sellers[0]["id"]
    vendor = await member_headers(client, market, seller_a, "staff@a.test")

    order = ok(await capture(client, vendor, a, 10, vendor=True))["order"]
    assert order["id"] == a and order["paid_total"] == 10
    assert "order_group_id" not in order and "cart_id" not in order
    assert [pc["amount"] for pc in order["payment_collections"]] == [order["total"]]
    order = ok(await refund(client, vendor, a, 2, vendor=True))["order"]
    assert order["refunded_total"] == 2
    async with app.state.sessionmaker() as session:
        member_id = await session.scalar(select(Capture.created_by))
    assert member_id.startswith("mem_")

    calls = await count(app, ProviderCall)
    error(
        await capture(client, vendor, b, vendor=True),
        404,
        "not_found",
        f"Order with id {b} was not found",
    )
    error(
        await refund(client, vendor, b, vendor=True),
        404,
        "not_found",
        f"Order with id {b} was not found",
    )
    assert await count(app, Capture, Capture.order_id == b) == 0
    assert await count(app, ProviderCall) == calls
    assert (await get_order(client, market, b))["payment_status"] == "authorized"
    # a vendor cannot reach the whole payment either
    async with app.state.sessionmaker() as session:
        payment_id = await session.scalar(select(Payment.id))
    response = await client.post(f"/admin/payments/{payment_id}/capture", headers=vendor)
    assert response.status_code == 401


async def test_cancel_voids_the_share_and_refunds_what_was_captured(client, app, placed):
    """The order-cancel workflow: void of the uncaptured share, refund of the captured part."""
    market, group_id, a, b = placed
    ok(await capture(client, market.admin, a, 10))
    share = to_minor(dec((await get_order(client, market, a))["total"]), "usd")

    sessionmaker = app.state.sessionmaker
    await money.cancel_order(
        UnitOfWork(sessionmaker),
        order_id=a,
        canceled_by="user_x",
        providers=money.default_providers(sessionmaker),
    )
    assert len(await events(client, market, "payment.refunded")) == 1
    assert len(await events(client, market, "order.canceled")) == 1

    async with sessionmaker() as session:
        void = await session.scalar(select(ProviderCall).where(ProviderCall.operation == "cancel"))
        assert (void.idempotency_key, void.amount) == (f"{a}:void", share - 1000)
        refund_row = await session.scalar(select(Refund))
        assert (refund_row.amount, refund_row.order_id, refund_row.created_by) == (
            1000,
            a,
            "user_x",
        )
        collection = await session.scalar(select(PaymentCollection))
        assert collection.status == "authorized"  # the sibling's authorization stays valid
        payment = await session.scalar(select(Payment))
        assert payment.canceled_at is None and payment.captured_at is None

    canceled = await get_order(client, market, a)
    assert canceled["payment_status"] == "refunded" and canceled["refundable_amount"] == 0
    error(
        await capture(client, market.admin, a),
        400,
        "invalid_data",
        f"Order with id {a} has been canceled.",
    )
    # the sibling still captures its whole share; then nothing is left on the payment
    ok(await capture(client, market.admin, b))
    async with sessionmaker() as session:
        payment = await session.scalar(select(Payment))
        assert payment.captured_at is not None
    await assert_stored_statuses_are_recomputed(app, [a, b])
