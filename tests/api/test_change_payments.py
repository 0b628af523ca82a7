"""Paying an order change's collection (order-changes.md §3.5, §3.6, §10): the store's payment
session and authorize routes, capture across the order's collections oldest first, refunds
newest first, mark-as-paid. The §16 exchange example (order B) carried on to the cent: its
16.50 collection paid through the store and captured; order A never moves."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from mercato.orders import change_payments
from mercato.payments.models import Capture, Payment, Refund
from mercato.payments.providers import ProviderResult, get_provider
from mercato.unit_of_work import UnitOfWork
from mercato.workflows.runs import sweep
from tests.api.cart_helpers import customer_headers
from tests.api.helpers import error, login, ok
from tests.api.test_exchanges import _fulfil, _order, _setup, _sibling


async def _pricier_exchange(client, h, b, teapot) -> tuple[str, str, str]:
    """§16: 1 Mug in, 1 Teapot out, outbound shipping at 0, requested → (exchange, its
    return, the new change collection)."""
    mug_line = (await _order(client, h, b))["items"][0]["id"]
    ex = ok(await client.post("/admin/exchanges", headers=h, json={"order_id": b}))["exchange"][
        "id"
    ]
    for path, body in (
        ("inbound/items", {"items": [{"id": mug_line, "quantity": 1}]}),
        ("outbound/items", {"items": [{"variant_id": teapot, "quantity": 1}]}),
    ):
        ok(await client.post(f"/admin/exchanges/{ex}/{path}", headers=h, json=body))
    requested = ok(await client.post(f"/admin/exchanges/{ex}/request", headers=h, json={}))
    order = await _order(client, h, b)
    [collection] = [c for c in order["payment_collections"] if c["source"] == "order_change"]
    assert collection["amount"] == 16.5 and collection["status"] == "not_paid"
    return ex, requested["return"]["id"], collection["id"]


async def _session(client, store, collection_id, provider="pp_test", **data) -> str:
    body = {"provider_id": provider, **({"data": data} if data else {})}
    paid = ok(
        await client.post(
            f"/store/payment-collections/{collection_id}/payment-sessions",
            headers=store,
            json=body,
            params={"fields": "*payment_sessions"},
        )
    )["payment_collection"]
    [session] = paid["payment_sessions"]
    assert session["amount"] == paid["amount"] and session["status"] == "pending"
    return session["id"]


async def _authorize(client, store, collection_id, session_id, headers=None):
    return await client.post(
        f"/store/payment-collections/{collection_id}/payment-sessions/{session_id}/authorize",
        headers={**store, **(headers or {})},
        params={"fields": "id,status,amount,authorized_amount,captured_amount"},
    )


async def _money(app, order_id):
    """(payment id, kind, amount) of every capture and refund of the order."""
    async with app.state.sessionmaker() as session:
        rows = []
        for model, kind in ((Capture, "capture"), (Refund, "refund")):
            for record in await session.scalars(
                select(model).where(model.order_id == order_id).order_by(model.id)
            ):
                rows.append((record.payment_id, kind, record.amount))
        return rows


async def _payment_of(app, collection_id):
    async with app.state.sessionmaker() as session:
        return await session.scalar(
            select(Payment.id).where(Payment.payment_collection_id == collection_id)
        )


async def test_the_exchange_collection_is_paid_in_the_store_and_captured(
    client, app, admin_headers
):
    h = admin_headers
    market, group_id, a, b, teapot, _ = await _setup(client, h)
    await _fulfil(client, h, b)
    a_before = _sibling(await _order(client, h, a))
    group_before = ok(await client.get(f"/admin/order-groups/{group_id}", headers=h))
    _, ret, collection = await _pricier_exchange(client, h, b, teapot)
    cart_collection = next(
        c["id"]
        for c in (await _order(client, h, b))["payment_collections"]
        if c["source"] == "cart"
    )

    # A cart's collection is paid by completing the cart, not here.
    error(
        await _authorize(client, market.store, cart_collection, "payses_x"),
        400,
        "not_allowed",
        f"Payment collection {cart_collection} belongs to a cart; complete the cart instead",
    )
    # Declined: 422 with checkout's message, the collection still unpaid.
    declined = await _session(client, market.store, collection, outcome="decline")
    error(
        await _authorize(client, market.store, collection, declined),
        422,
        "payment_authorization_error",
        "Payment authorization failed",
    )
    order = await _order(client, h, b)
    assert order["payment_status"] == "partially_authorized"
    assert order["summary"]["amount_due"] == 16.5

    # The customer pays it: B is pending and authorized.
    session_id = await _session(client, market.store, collection)
    paid = ok(await _authorize(client, market.store, collection, session_id))
    assert paid["payment_collection"]["status"] == "authorized"
    assert paid["payment_collection"]["authorized_amount"] == 16.5
    order = await _order(client, h, b)
    assert (order["status"], order["payment_status"]) == ("pending", "authorized")
    assert order["summary"]["amount_due"] == 0 and order["summary"]["pending_difference"] == 42.9
    # Authorizing the same session again answers as the first time and books nothing more.
    ok(await _authorize(client, market.store, collection, session_id))
    error(
        await client.post(
            f"/admin/payment-collections/{collection}/mark-as-paid",
            headers=h,
            json={"order_id": b},
        ),
        400,
        "not_allowed",
        "Can only mark 'not_paid' payment collection as paid",
    )

    # Capture: cap 42.90 + 22.00 in transit, per collection 26.40 and 16.50 → 42.90.
    ok(await client.post(f"/admin/orders/{b}/capture", headers=h, json={}))
    change_payment = await _payment_of(app, collection)
    cart_payment = await _payment_of(app, cart_collection)
    # Each collection up to its share: the cart's 26.40, the change collection's 16.50.
    assert sorted(await _money(app, b)) == sorted(
        [(cart_payment, "capture", 2640), (change_payment, "capture", 1650)]
    )
    order = await _order(client, h, b)
    summary = order["summary"]
    assert summary["paid_total"] == 42.9 and summary["pending_difference"] == 0
    assert order["payment_status"] == "captured"
    statuses = {c["source"]: c["status"] for c in order["payment_collections"]}
    assert statuses == {"cart": "authorized", "order_change": "completed"}
    error(
        await client.post(f"/admin/orders/{b}/capture", headers=h, json={}),
        400,
        "invalid_data",
        f"Order {b} has nothing left to capture: its share of 42.90 USD is already captured",
    )

    # The Mug arrives: nothing in transit, nothing due.
    ok(await client.post(f"/admin/returns/{ret}/receive", headers=h))
    mug_line = (await client.get(f"/admin/returns/{ret}", headers=h)).json()["return"]["items"][0][
        "item_id"
    ]
    ok(
        await client.post(
            f"/admin/returns/{ret}/receive-items",
            headers=h,
            json={"items": [{"id": mug_line, "quantity": 1}]},
        )
    )
    ok(await client.post(f"/admin/returns/{ret}/receive/confirm", headers=h))
    summary = (await _order(client, h, b))["summary"]
    assert summary["return_requested_total"] == 0 and summary["refund_due"] == 0

    # Medusa's payment route refunds that payment; the order's route draws from the newest
    # captured collection first. Both are goodwill here (nothing is due).
    ok(
        await client.post(
            f"/admin/payments/{cart_payment}/refund", headers=h, json={"order_id": b, "amount": 1}
        )
    )
    ok(await client.post(f"/admin/orders/{b}/refund", headers=h, json={"amount": 20}))
    refunds = [r for r in await _money(app, b) if r[1] == "refund"]
    assert sorted(refunds) == sorted(
        [
            (cart_payment, "refund", 100),
            (change_payment, "refund", 1650),
            (cart_payment, "refund", 350),
        ]
    )
    assert _sibling(await _order(client, h, a)) == a_before
    group = ok(await client.get(f"/admin/order-groups/{group_id}", headers=h))
    assert group["order_group"]["total"] == round(71.5 + 42.9 - 21, 2)
    assert group_before["order_group"]["id"] == group_id


async def test_a_customers_collection_is_theirs_alone(client, app, admin_headers):
    h = admin_headers
    market, group_id, _, b, teapot, _ = await _setup(client, h, customer_email="payer@example.com")
    await _fulfil(client, h, b)
    _, ret, collection = await _pricier_exchange(client, h, b, teapot)
    # The customer's read of the group shows the exchange's return and the collection to pay
    # (order-changes.md §10; order-groups.md's store extras).
    fields = "orders.returns.id,orders.returns.status,orders.payment_collections.*"
    read = ok(
        await client.get(
            f"/store/order-groups/{group_id}", headers=market.store, params={"fields": fields}
        )
    )["order_group"]
    order_b = next(o for o in read["orders"] if o["id"] == b)
    assert order_b["returns"] == [{"id": ret, "status": "requested"}]
    assert {(c["source"], c["amount"], c["status"]) for c in order_b["payment_collections"]} == {
        ("cart", 26.4, "authorized"),
        ("order_change", 16.5, "not_paid"),
    }
    publishable = {"x-publishable-api-key": market.store["x-publishable-api-key"]}
    stranger = await customer_headers(client, publishable, "stranger@example.com")
    for headers in (publishable, {**publishable, **stranger}):
        error(
            await client.post(
                f"/store/payment-collections/{collection}/payment-sessions",
                headers=headers,
                json={"provider_id": "pp_test"},
            ),
            404,
            "not_found",
            f"Payment collection with id {collection} was not found",
        )
    session_id = await _session(client, market.store, collection)
    error(
        await _authorize(client, publishable, collection, session_id, stranger),
        404,
        "not_found",
        f"Payment collection with id {collection} was not found",
    )
    # An auto-capturing provider captures at once.
    session_id = await _session(client, market.store, collection, outcome="capture")
    paid = ok(await _authorize(client, market.store, collection, session_id))
    assert paid["payment_collection"]["status"] == "completed"
    assert paid["payment_collection"]["captured_amount"] == 16.5
    summary = (await _order(client, h, b))["summary"]
    assert summary["paid_total"] == 16.5


async def test_mark_as_paid(client, app, admin_headers):
    h = admin_headers
    market, _, a, b, teapot, _ = await _setup(client, h)
    await _fulfil(client, h, b)
    a_before = _sibling(await _order(client, h, a))
    _, _, collection = await _pricier_exchange(client, h, b, teapot)
    cart_collection = next(
        c["id"]
        for c in (await _order(client, h, b))["payment_collections"]
        if c["source"] == "cart"
    )
    url = f"/admin/payment-collections/{collection}/mark-as-paid"
    error(
        await client.post(url, headers=h, json={"order_id": a}),
        400,
        "invalid_data",
        f"Payment collection {collection} is not linked to order {a}",
    )
    error(
        await client.post(
            f"/admin/payment-collections/{cart_collection}/mark-as-paid",
            headers=h,
            json={"order_id": b},
        ),
        400,
        "not_allowed",
        "Can only mark 'not_paid' payment collection as paid",
    )
    error(
        await client.post(
            "/admin/payment-collections/pay_col_nope/mark-as-paid",
            headers=h,
            json={"order_id": b},
        ),
        404,
        "not_found",
        "Payment collection with id pay_col_nope was not found",
    )
    assert await _money(app, b) == []
    paid = ok(
        await client.post(
            url, headers=h, json={"order_id": b}, params={"fields": "status,captured_amount"}
        )
    )["payment_collection"]
    assert paid["status"] == "completed" and paid["captured_amount"] == 16.5
    payment = await _payment_of(app, collection)
    assert await _money(app, b) == [(payment, "capture", 1650)]
    order = await _order(client, h, b)
    assert order["summary"]["paid_total"] == 16.5
    assert order["summary"]["pending_difference"] == 26.4
    error(
        await client.post(url, headers=h, json={"order_id": b}),
        400,
        "not_allowed",
        "Can only mark 'not_paid' payment collection as paid",
    )
    assert _sibling(await _order(client, h, a)) == a_before


async def _payments(app, collection_id) -> list[Payment]:
    async with app.state.sessionmaker() as session:
        return list(
            await session.scalars(
                select(Payment).where(Payment.payment_collection_id == collection_id)
            )
        )


async def test_concurrent_authorizations_of_one_session_pay_once(client, app, admin_headers):
    h = admin_headers
    market, _, _, b, teapot, _ = await _setup(client, h)
    await _fulfil(client, h, b)
    _, _, collection = await _pricier_exchange(client, h, b, teapot)
    session_id = await _session(client, market.store, collection)
    responses = await asyncio.gather(
        *(_authorize(client, market.store, collection, session_id) for _ in range(6))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses[0] == 200 and set(statuses) <= {200, 409}, [r.text for r in responses]
    assert len(await _payments(app, collection)) == 1
    order = await _order(client, h, b)
    [paid] = [c for c in order["payment_collections"] if c["source"] == "order_change"]
    assert paid["status"] == "authorized"
    assert order["summary"]["amount_due"] == 0


class _KilledAfterTheAnswer:
    """The journaled provider authorizes, then the process dies before the booking."""

    def __init__(self, real) -> None:
        self.real, self.id = real, real.id

    async def authorize(self, **kwargs) -> ProviderResult:
        await self.real.authorize(**kwargs)
        raise asyncio.CancelledError


async def test_an_authorization_killed_after_the_answer_is_booked_by_the_sweep(
    client, app, admin_headers
):
    h = admin_headers
    market, _, _, b, teapot, _ = await _setup(client, h)
    await _fulfil(client, h, b)
    _, _, collection = await _pricier_exchange(client, h, b, teapot)
    session_id = await _session(client, market.store, collection)
    sessionmaker = app.state.sessionmaker
    killed = _KilledAfterTheAnswer(get_provider("pp_test", sessionmaker))
    with pytest.raises(asyncio.CancelledError):
        await change_payments.authorize(
            UnitOfWork(sessionmaker),
            collection_id=collection,
            session_id=session_id,
            customer=None,
            providers=lambda _id: killed,
        )
    assert await _payments(app, collection) == []
    # A retry while the run is unfinished: 409, nothing booked.
    error(
        await _authorize(client, market.store, collection, session_id),
        409,
        "conflict",
        f"Payment session {session_id} is being authorized; retry once it has ended",
    )
    assert await sweep(sessionmaker, now=datetime.now(UTC), stale_after=timedelta(0)) == 1
    assert len(await _payments(app, collection)) == 1
    order = await _order(client, h, b)
    assert order["summary"]["amount_due"] == 0 and order["payment_status"] == "authorized"
    # The retry now answers the booked outcome; a second sweep finds nothing.
    ok(await _authorize(client, market.store, collection, session_id))
    assert await sweep(sessionmaker, now=datetime.now(UTC), stale_after=timedelta(0)) == 0
    assert len(await _payments(app, collection)) == 1


async def test_canceling_the_order_voids_and_refunds_each_collection(client, app, admin_headers):
    h = admin_headers
    market, _, a, b, teapot, _ = await _setup(client, h)
    await _fulfil(client, h, b)
    a_before = _sibling(await _order(client, h, a))
    ex, _, collection = await _pricier_exchange(client, h, b, teapot)
    session_id = await _session(client, market.store, collection)
    ok(await _authorize(client, market.store, collection, session_id))
    # Seller B's staff capture 30.00: the cart's 26.40 share, then 3.60 of the change
    # collection; seller A's staff cannot reach the order.
    vendors = {}
    for seller in market.sellers:
        email = f"{seller['id']}@example.com"
        ok(
            await client.post(
                f"/admin/sellers/{seller['id']}/members",
                headers=h,
                json={"email": email, "password": "supersecret"},
            )
        )
        vendors[seller["id"]] = await login(client, "seller", email, "supersecret")
    vendor_a, vendor_b = (vendors[s["id"]] for s in market.sellers)
    error(
        await client.post(f"/vendor/orders/{b}/capture", headers=vendor_a, json={"amount": 30}),
        404,
        "not_found",
        f"Order with id {b} was not found",
    )
    ok(await client.post(f"/vendor/orders/{b}/capture", headers=vendor_b, json={"amount": 30}))
    change_payment = await _payment_of(app, collection)
    [cart_payment] = {p for p, _, _ in await _money(app, b)} - {change_payment}
    assert sorted(await _money(app, b)) == sorted(
        [(cart_payment, "capture", 2640), (change_payment, "capture", 360)]
    )
    # The exchange is canceled (its outbound never shipped), then the Mug's fulfilment, then
    # the order: each collection's captures are refunded, the uncaptured rest voided.
    ok(await client.post(f"/admin/exchanges/{ex}/cancel", headers=h, json={}))
    [fulfillment] = (
        await client.get(f"/admin/orders/{b}", headers=h, params={"fields": "fulfillments.id"})
    ).json()["order"]["fulfillments"]
    ok(
        await client.post(
            f"/admin/orders/{b}/fulfillments/{fulfillment['id']}/cancel", headers=h, json={}
        )
    )
    ok(await client.post(f"/admin/orders/{b}/cancel", headers=h))
    refunds = sorted(r for r in await _money(app, b) if r[1] == "refund")
    assert refunds == sorted([(cart_payment, "refund", 2640), (change_payment, "refund", 360)])
    order = await _order(client, h, b)
    assert order["status"] == "canceled"
    assert order["summary"]["paid_total"] == order["summary"]["refunded_total"] == 30
    assert _sibling(await _order(client, h, a)) == a_before
