"""Cart completion as a workflow (issue 16 §3): reserve and commit, authorize outside any
transaction, place in a new one; compensation when a later step fails; recovery of a run
interrupted between steps. The provider is the in-memory fake (``tests/fakes.py``); the steps run
against PostgreSQL, the carts are built through HTTP."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from mercato.api.deps import payment_providers
from mercato.checkout import service as checkout
from mercato.orders.models import Order, OrderGroup, ReservationItem
from mercato.payments.models import PaymentCollection, PaymentSession
from mercato.products.models import InventoryLevel
from mercato.unit_of_work import UnitOfWork
from mercato.workflows import runs
from mercato.workflows.models import WorkflowRun
from tests.api.checkout_helpers import build_marketplace, complete, pay, ready_cart
from tests.api.helpers import error, ok
from tests.fakes import FakeProvider


@pytest.fixture
async def market(client, admin_headers):
    """Overrides conftest's ``market``: two sellers, two variants each (10.99 and 3.50), stock
    10."""
    return await build_marketplace(client, admin_headers, sellers=2, prices=(10.99, 3.5), stock=10)


@pytest.fixture
def fake() -> FakeProvider:
    return FakeProvider()


@pytest.fixture
def recovery(fake):
    """The sweep recovers completions with the fake provider for the test."""
    runs.register_recoverer(checkout.COMPLETION, checkout.recoverer(lambda _: fake))
    yield fake
    runs.register_recoverer(checkout.COMPLETION, checkout.recoverer())


@pytest.fixture
def over_http(app, fake):
    """HTTP completions call the fake provider."""
    app.dependency_overrides[payment_providers] = lambda: lambda _provider_id: fake
    yield fake
    app.dependency_overrides.pop(payment_providers, None)


async def scalar(app, query) -> Any:
    async with app.state.sessionmaker() as session:
        return await session.scalar(query)


async def reserved(app) -> int:
    return await scalar(app, select(func.coalesce(func.sum(InventoryLevel.reserved_quantity), 0)))


async def run_of(app, cart_id: str) -> WorkflowRun:
    async with app.state.sessionmaker() as session:
        return (
            await session.scalars(
                select(WorkflowRun)
                .where(WorkflowRun.subject_id == cart_id)
                .order_by(WorkflowRun.created_at.desc())
            )
        ).first()


def completing(app, market, cart_id: str, fake: FakeProvider):
    return checkout.complete_cart(
        UnitOfWork(app.state.sessionmaker),
        cart_id=cart_id,
        sales_channel_ids=(market.channel_id,),
        customer_id=None,
        providers=lambda _: fake,
    )


async def started(app, market, cart_id: str, fake: FakeProvider) -> checkout.Started:
    begun = await checkout.start(
        UnitOfWork(app.state.sessionmaker),
        cart_id=cart_id,
        sales_channel_ids=(market.channel_id,),
        customer_id=None,
        providers=lambda _: fake,
    )
    assert isinstance(begun, checkout.Started)
    return begun


async def sweep(app) -> int:
    return await runs.sweep(app.state.sessionmaker, now=datetime.now(UTC), stale_after=timedelta(0))


# --------------------------------------------------------------------------- compensation


@pytest.mark.parametrize("outcome", ["declined", "requires_more"])
async def test_a_declined_payment_releases_the_reservations_and_creates_nothing(
    client, app, market, fake, outcome
):
    cart = await ready_cart(client, market)
    fake.outcomes["authorize"] = outcome
    result = await completing(app, market, cart["id"], fake)
    assert result.order_group_id is None
    assert result.payment_failure == checkout.PaymentFailure(*checkout.PAYMENT_FAILURES[outcome])
    assert await scalar(app, select(func.count()).select_from(Order)) == 0
    assert await reserved(app) == 0
    ((_, _, authorize_key),) = fake.made("authorize")
    assert fake.made("cancel") == [
        ("cancel", fake.made("authorize")[0][1], authorize_key.replace(":authorize", ":cancel"))
    ]
    run = await run_of(app, cart["id"])
    assert (run.status, run.step) == ("compensated", "compensated")
    assert run.key != checkout.run_key(cart["id"])  # given up: the shopper may try again
    # The cart is no longer being completed: it can change, and completes with a new session.
    ok(
        await client.post(
            f"/store/carts/{cart['id']}", json={"email": "a@b.c"}, headers=market.store
        )
    )
    await pay(client, market, cart["id"])
    fake.outcomes.clear()
    again = await completing(app, market, cart["id"], fake)
    assert again.order_group_id is not None
    assert await reserved(app) == 2


async def test_a_failure_after_authorization_voids_it_and_releases_the_stock(
    client, app, market, fake, monkeypatch
):
    cart = await ready_cart(client, market)

    async def crash(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("disk full")

    monkeypatch.setattr(checkout, "_place_orders", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        await completing(app, market, cart["id"], fake)
    ((_, amount, key),) = fake.made("authorize")
    assert fake.made("cancel") == [("cancel", amount, key.replace(":authorize", ":cancel"))]
    assert await reserved(app) == 0
    assert await scalar(app, select(func.count()).select_from(Order)) == 0
    assert (await run_of(app, cart["id"])).status == "compensated"
    session_status = await scalar(app, select(PaymentSession.status))
    assert session_status == "canceled"  # a retry needs a new session (and a new key)


async def test_a_provider_that_fails_is_compensated_and_the_error_raised(client, app, market, fake):
    cart = await ready_cart(client, market)
    fake.fail["authorize"] = ConnectionError("provider unreachable")
    with pytest.raises(ConnectionError):
        await completing(app, market, cart["id"], fake)
    assert len(fake.made("cancel")) == 1  # whatever the provider did is voided
    assert await reserved(app) == 0
    assert (await run_of(app, cart["id"])).status == "compensated"


# --------------------------------------------------------------------------- in flight


async def test_while_a_completion_is_in_flight_the_cart_refuses_changes(
    client, app, market, over_http
):
    over_http.delay = 1.0
    cart = await ready_cart(client, market)
    cart_id = cart["id"]
    first = asyncio.create_task(complete(client, market, cart_id))
    await over_http.entered.wait()
    message = f"Cart {cart_id} is being completed; try again when its completion has finished"
    variant = market.variants[market.sellers[0]["id"]][1]
    collection_id = await scalar(
        app, select(PaymentCollection.id).where(PaymentCollection.cart_id == cart_id)
    )
    refused = [
        await client.post(
            f"/store/carts/{cart_id}/line-items",
            json={"variant_id": variant, "quantity": 1},
            headers=market.store,
        ),
        await client.post(f"/store/carts/{cart_id}", json={"email": "x@y.z"}, headers=market.store),
        await client.post(
            f"/store/carts/{cart_id}/shipping-methods",
            json={"option_id": market.options[market.sellers[0]["id"]]},
            headers=market.store,
        ),
        await client.post(
            f"/store/payment-collections/{collection_id}/payment-sessions",
            json={"provider_id": "pp_system_default"},
            headers=market.store,
        ),
    ]
    for response in refused:
        assert error(response, 409, "conflict") == message
    # A second completion waits for the first and answers with its group.
    second = await complete(client, market, cart_id)
    bodies = [ok(await first), ok(second)]
    assert bodies[0] == bodies[1] and bodies[0]["type"] == "order_group"
    assert len(over_http.made("authorize")) == 1
    error(
        await client.post(f"/store/carts/{cart_id}", json={"email": "x@y.z"}, headers=market.store),
        400,
        "invalid_data",
        f"Cart {cart_id} is already completed.",
    )


@pytest.mark.slow
async def test_the_provider_call_holds_no_row_lock(client, app, market, over_http):
    """While the provider takes 2 s, another transaction locks the same inventory level and the
    cart's rows with NOWAIT (the old design held them until it committed)."""
    over_http.delay = 2.0
    cart = await ready_cart(client, market)
    task = asyncio.create_task(complete(client, market, cart["id"]))
    await over_http.entered.wait()
    async with app.state.sessionmaker() as session, session.begin():
        levels = (
            await session.execute(
                text(
                    "SELECT l.id FROM inventory_level l JOIN cart_line_item i "
                    "ON i.variant_id = l.variant_id WHERE i.cart_id = :cart "
                    "ORDER BY l.location_id, l.variant_id FOR UPDATE OF l NOWAIT"
                ),
                {"cart": cart["id"]},
            )
        ).all()
        assert len(levels) == 2
        for table, column in (
            ("cart", "id"),
            ("cart_line_item", "cart_id"),
            ("cart_shipping_method", "cart_id"),
            ("payment_collection", "cart_id"),
        ):
            rows = await session.execute(
                text(f"SELECT 1 FROM {table} WHERE {column} = :cart FOR UPDATE NOWAIT"),
                {"cart": cart["id"]},
            )
            assert rows.all(), table
        assert not task.done()  # all of this happened while the provider was still working
    assert ok(await task)["type"] == "order_group"


@dataclass
class CountingProvider(FakeProvider):
    """The fake, counting how many authorizations are in progress at once."""

    inside: int = 0
    most: int = 0

    async def authorize(self, **kwargs: Any) -> Any:
        self.inside += 1
        self.most = max(self.most, self.inside)
        try:
            return await super().authorize(**kwargs)
        finally:
            self.inside -= 1


@pytest.mark.slow
async def test_concurrent_checkouts_of_one_product_all_complete_without_oversell(
    client, app, admin_headers
):
    shoppers, delay = 8, 2.0
    market = await build_marketplace(client, admin_headers, sellers=1, stock=2 * shoppers)
    hot = market.variants[market.sellers[0]["id"]][0]
    carts = [await ready_cart(client, market, [(hot, 2)]) for _ in range(shoppers)]
    late = await ready_cart(client, market, [(hot, 1)])
    provider = CountingProvider(delay=delay)
    app.dependency_overrides[payment_providers] = lambda: lambda _provider_id: provider
    try:
        began = time.monotonic()
        responses = await asyncio.gather(*(complete(client, market, c["id"]) for c in carts))
        elapsed = time.monotonic() - began
    finally:
        app.dependency_overrides.pop(payment_providers, None)
    assert [ok(r)["type"] for r in responses] == ["order_group"] * shoppers
    # The authorizations overlapped: none waited for another checkout's provider call.
    assert provider.most >= shoppers // 2, provider.most
    assert elapsed < shoppers * delay / 2, elapsed
    level = await scalar(app, select(InventoryLevel).where(InventoryLevel.variant_id == hot))
    assert (level.stocked_quantity, level.reserved_quantity) == (2 * shoppers, 2 * shoppers)
    # One more shopper finds nothing left.
    response = await complete(client, market, late["id"])
    assert error(response, 400, "not_allowed")
    assert response.json()["code"] == "insufficient_inventory"


# --------------------------------------------------------------------------- recovery


async def test_an_interrupted_authorized_run_is_recovered_into_exactly_one_group(
    client, app, market, recovery
):
    cart = await ready_cart(client, market)
    begun = await started(app, market, cart["id"], recovery)
    result = await checkout.authorize(recovery, begun.state)
    assert result.status == "authorized"
    # The process dies here: stock reserved, payment authorized, no group, the cart in flight.
    assert await reserved(app) == 2
    variant = market.variants[market.sellers[0]["id"]][1]
    error(
        await client.post(
            f"/store/carts/{cart['id']}/line-items",
            json={"variant_id": variant, "quantity": 1},
            headers=market.store,
        ),
        409,
        "conflict",
    )
    assert await sweep(app) == 1
    async with app.state.sessionmaker() as session:
        groups = list(await session.scalars(select(OrderGroup.id)))
    assert len(groups) == 1
    assert len(recovery.made("authorize")) == 1  # replayed with the same key: answered once
    assert recovery.made("cancel") == []
    assert await reserved(app) == 2  # the reservation became the lines', not a second one
    assert await scalar(app, select(func.count()).select_from(ReservationItem)) == 2
    run = await run_of(app, cart["id"])
    assert (run.status, run.step) == ("succeeded", "done")
    # Recovery is idempotent, and the shopper's retry finds the group.
    assert await sweep(app) == 0
    body = ok(await complete(client, market, cart["id"]))
    assert body["type"] == "order_group" and body["order_group"]["id"] == groups[0]
    assert body["order_group"]["seller_count"] == 2
    assert await scalar(app, select(func.count()).select_from(Order)) == 2
    events = ok(await client.get("/admin/events", headers=market.admin))["events"]
    assert sorted(e["name"] for e in events) == ["order.placed"] * 2 + ["order_group.created"]


async def test_an_interrupted_run_that_cannot_be_placed_is_compensated(
    client, app, market, recovery
):
    cart = await ready_cart(client, market)
    begun = await started(app, market, cart["id"], recovery)
    assert (await checkout.authorize(recovery, begun.state)).status == "authorized"
    # The process dies; meanwhile a seller is suspended: the cart can no longer be placed.
    seller = market.sellers[1]["id"]
    ok(
        await client.post(
            f"/admin/sellers/{seller}", json={"status": "suspended"}, headers=market.admin
        )
    )
    assert await sweep(app) == 1
    assert await scalar(app, select(func.count()).select_from(OrderGroup)) == 0
    ((_, amount, key),) = recovery.made("authorize")
    assert recovery.made("cancel") == [("cancel", amount, key.replace(":authorize", ":cancel"))]
    assert await reserved(app) == 0
    run = await run_of(app, cart["id"])
    assert run.status == "compensated"
    # The cart is unlocked: it changes again, and with the seller back it completes.
    ok(
        await client.post(
            f"/admin/sellers/{seller}", json={"status": "active"}, headers=market.admin
        )
    )
    await pay(client, market, cart["id"])
    assert ok(await complete(client, market, cart["id"]))["type"] == "order_group"
    assert await sweep(app) == 0


async def test_an_interrupted_run_whose_provider_is_unreachable_is_compensated(
    client, app, market, recovery
):
    cart = await ready_cart(client, market)
    await started(app, market, cart["id"], recovery)
    # The process died before the provider was called; now the provider does not answer.
    recovery.fail["authorize"] = ConnectionError("provider unreachable")
    assert await sweep(app) == 1
    assert len(recovery.made("cancel")) == 1
    assert await reserved(app) == 0
    assert (await run_of(app, cart["id"])).status == "compensated"


async def test_an_interrupted_compensation_is_resumed(client, app, market, recovery):
    cart = await ready_cart(client, market)
    begun = await started(app, market, cart["id"], recovery)
    recovery.fail["cancel"] = ConnectionError("provider unreachable")
    with pytest.raises(ConnectionError):
        await checkout.compensate(UnitOfWork(app.state.sessionmaker), recovery, begun)
    run = await run_of(app, cart["id"])
    assert (run.status, run.step) == ("running", checkout.COMPENSATING)
    assert await reserved(app) == 2  # not released before the void went through
    # A sweep while the provider is still down leaves it for the next one.
    assert await sweep(app) == 0
    del recovery.fail["cancel"]
    assert await sweep(app) == 1
    assert len(recovery.made("cancel")) == 1
    assert recovery.made("authorize") == []  # a compensating run is never authorized again
    assert await reserved(app) == 0
    assert (await run_of(app, cart["id"])).status == "compensated"
