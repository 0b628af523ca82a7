"""``Idempotency-Key`` (api-conventions.md) through HTTP: on the money routes (capture, refund)
and, for the mechanism's every rule, on a probe route mounted for these tests."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Depends, Request
from sqlalchemy import func, select, text

from mercato.api.deps import admin, store
from mercato.api.idempotency import IdempotencyKey, StoreIdempotencyKey
from mercato.errors import MercatoError, not_found
from mercato.http.app import create_app
from mercato.idempotency.models import IdempotencyRecord
from mercato.payments.models import Capture, ProviderCall, Refund
from mercato.payments.providers import PaymentProvider
from tests.api.helpers import (
    PASSWORD,
    basic,
    bearer,
    create_admin,
    create_api_key,
    error,
    login,
    ok,
)

REUSED = "Idempotency-Key {} was already used for a different request"
IN_USE = (
    "The request conflicted with another request. "
    "You may retry the request with the provided Idempotency-Key."
)


async def count(app, model, *where) -> int:
    async with app.state.sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where))


async def events(client, admin: dict, name: str) -> list[dict]:
    return ok(await client.get("/admin/events", params={"name": name}, headers=admin))["events"]


def keyed(headers: dict, key: str) -> dict:
    return {**headers, "Idempotency-Key": key}


# ---------------------------------------------------------------------- on the money routes


async def test_a_refund_reusing_a_key_with_another_amount_is_refused(client, app, placed):
    """The issue's probe: a refund of 1, then of 2 with the same key."""
    market, _, a, _ = placed
    ok(await client.post(f"/admin/orders/{a}/capture", headers=market.admin))
    url = f"/admin/orders/{a}/refund"
    first = ok(await client.post(url, json={"amount": 1}, headers=keyed(market.admin, "r-1")))
    assert first["order"]["refunded_total"] == 1
    second = await client.post(url, json={"amount": 2}, headers=keyed(market.admin, "r-1"))
    error(second, 400, "invalid_data", REUSED.format("r-1"))
    assert second.json()["code"] == "idempotency_key_reused"
    assert await count(app, Refund) == 1
    assert await count(app, ProviderCall, ProviderCall.operation == "refund") == 1
    assert len(await events(client, market.admin, "payment.refunded")) == 1
    order = ok(await client.get(f"/admin/orders/{a}", headers=market.admin))["order"]
    assert order["refunded_total"] == 1


async def test_a_replay_returns_the_stored_response_and_runs_nothing(client, app, placed):
    market, _, a, b = placed
    url = f"/admin/orders/{a}/capture"
    first = await client.post(url, json={"amount": 5}, headers=keyed(market.admin, "cap-1"))
    assert first.status_code == 200 and "Idempotent-Replayed" not in first.headers
    # the same body however it is spelled (key order, whitespace, 5 or 5.0)
    again = await client.post(
        url,
        content=b'{ "amount" : 5.0 }',
        headers={**keyed(market.admin, "cap-1"), "content-type": "application/json"},
    )
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"]
    assert await count(app, Capture) == 1
    assert await count(app, ProviderCall, ProviderCall.operation == "capture") == 1
    assert len(await events(client, market.admin, "payment.captured")) == 1

    # a 4xx is stored and replayed too, even once the request would succeed
    refund_url = f"/admin/orders/{a}/refund"
    too_much = await client.post(
        refund_url, json={"amount": 6}, headers=keyed(market.admin, "ref-1")
    )
    error(too_much, 400, "invalid_data")
    ok(await client.post(url, json={"amount": 5}, headers=market.admin))
    replayed = await client.post(
        refund_url, json={"amount": 6}, headers=keyed(market.admin, "ref-1")
    )
    assert replayed.status_code == 400 and replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.content == too_much.content
    assert await count(app, Refund) == 0

    # the payment capture route honours it as well
    async with app.state.sessionmaker() as session:
        payment_id = await session.scalar(text("SELECT id FROM payment"))
    pay_url = f"/admin/payments/{payment_id}/capture"
    # (an amount on this shared payment names its order: admin-dashboard.md §6)
    one = {"amount": 1, "order_id": b}
    body = ok(await client.post(pay_url, json=one, headers=keyed(market.admin, "p")))
    replay = await client.post(pay_url, json=one, headers=keyed(market.admin, "p"))
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.json() == body
    error(
        await client.post(pay_url, json={**one, "amount": 2}, headers=keyed(market.admin, "p")),
        400,
        "invalid_data",
        REUSED.format("p"),
    )
    assert len(await events(client, market.admin, "payment.captured")) == 3


async def test_a_key_is_scoped_to_its_actor_and_path(client, app, placed):
    market, _, a, b = placed
    url = f"/admin/orders/{a}/capture"
    ok(await client.post(url, json={"amount": 1}, headers=keyed(market.admin, "same")))
    # the user's secret key and another admin user are other actors: their requests run
    secret = await create_api_key(client, market.admin, "secret")
    by_key = await client.post(
        url, json={"amount": 2}, headers=keyed(basic(secret["token"]), "same")
    )
    assert ok(by_key)["order"]["paid_total"] == 3 and "Idempotent-Replayed" not in by_key.headers
    await create_admin(app, email="other@example.com")
    other = await login(client, "user", "other@example.com", PASSWORD)
    assert ok(await client.post(url, json={"amount": 3}, headers=keyed(other, "same")))
    # another path (the refund, another order's capture) is another scope
    refund = await client.post(
        f"/admin/orders/{a}/refund", json={"amount": 1}, headers=keyed(market.admin, "same")
    )
    assert ok(refund)["order"]["refunded_total"] == 1
    ok(
        await client.post(
            f"/admin/orders/{b}/capture", json={"amount": 4}, headers=keyed(market.admin, "same")
        )
    )
    # a seller member too (vendor route, own order)
    seller = market.sellers[0]["id"]
    member = {"email": "staff@a.test", "password": PASSWORD}
    ok(await client.post(f"/admin/sellers/{seller}/members", json=member, headers=market.admin))
    vendor = await login(client, "seller", "staff@a.test", PASSWORD)
    vendor_url = f"/vendor/orders/{a}/capture"
    ok(await client.post(vendor_url, json={"amount": 5}, headers=keyed(vendor, "same")))
    replay = await client.post(vendor_url, json={"amount": 5}, headers=keyed(vendor, "same"))
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert await count(app, Capture, Capture.order_id == a) == 4
    assert await count(app, Capture, Capture.order_id == b) == 1


async def test_a_key_still_in_use_is_a_409(client, app, placed, monkeypatch):
    """The first capture is held inside the provider call until the second one was answered."""
    market, _, a, _ = placed
    reached, release = asyncio.Event(), asyncio.Event()
    capture = PaymentProvider.capture

    async def held_capture(self, **kwargs: Any):
        reached.set()
        await release.wait()
        return await capture(self, **kwargs)

    monkeypatch.setattr(PaymentProvider, "capture", held_capture)
    url = f"/admin/orders/{a}/capture"
    headers = keyed(market.admin, "busy")
    first = asyncio.create_task(client.post(url, json={"amount": 5}, headers=headers))

    async def meanwhile(amount: int) -> httpx.Response:
        # bounded: without the claim this request would queue behind the held one for ever
        return await asyncio.wait_for(
            client.post(url, json={"amount": amount}, headers=headers), timeout=30
        )

    try:
        await asyncio.wait_for(reached.wait(), timeout=30)
        second = await meanwhile(5)
        error(second, 409, "conflict", IN_USE)
        assert second.json()["code"] == "idempotency_key_in_use"
        # another body is refused as such, running or not
        error(await meanwhile(7), 400, "invalid_data", REUSED.format("busy"))
    finally:
        release.set()
        answered = await asyncio.wait_for(first, timeout=30)
    assert ok(answered)["order"]["paid_total"] == 5
    replay = await client.post(url, json={"amount": 5}, headers=headers)
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.content == answered.content
    assert await count(app, Capture) == 1
    assert await count(app, ProviderCall, ProviderCall.operation == "capture") == 1


# ---------------------------------------------------------------------- the mechanism itself


class Probe:
    """A route that counts its runs and answers what the test asks for."""

    def __init__(self) -> None:
        self.runs = 0
        self.fail: int | None = None

    def answer(self, key, body: dict | None) -> dict:
        self.runs += 1
        if self.fail == 500:
            raise RuntimeError("the probe broke")
        if self.fail == 409:
            raise MercatoError("conflict", "Busy elsewhere")
        if self.fail == 404:
            raise not_found("Thing", "thing_1")
        return {"run": self.runs, "actor": key.actor if key else None, "body": body}


@pytest.fixture
async def probe(engine) -> tuple[httpx.AsyncClient, Probe]:
    """An app with ``POST /admin/idempotency-probe`` and ``POST /store/idempotency-probe``."""
    state = Probe()
    admin_router = APIRouter(dependencies=[Depends(admin)])
    store_router = APIRouter(dependencies=[Depends(store)])

    @admin_router.post("/admin/idempotency-probe")
    async def admin_probe(request: Request, key: IdempotencyKey, body: dict | None = None):
        return state.answer(key, body)

    @store_router.post("/store/idempotency-probe")
    async def store_probe(request: Request, key: StoreIdempotencyKey, body: dict | None = None):
        return state.answer(key, body)

    app = create_app(engine=engine)
    app.include_router(admin_router)
    app.include_router(store_router)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client, state


URL = "/admin/idempotency-probe"


async def records(app) -> list[Any]:
    async with app.state.sessionmaker() as session:
        return list((await session.execute(select(IdempotencyRecord))).scalars())


async def test_the_header_must_be_1_to_255_visible_ascii_characters(probe, admin_headers):
    client, state = probe
    message = "Idempotency-Key must be 1 to 255 visible ASCII characters"
    for bad in ("", "a b", "x" * 256, b"caf\xc3\xa9", "tab\tkey"):
        error(
            await client.post(URL, json={}, headers=keyed(admin_headers, bad)),
            400,
            "invalid_data",
            message,
        )
    assert state.runs == 0
    ok(await client.post(URL, json={}, headers=keyed(admin_headers, "~!" + "x" * 253)))
    assert state.runs == 1


async def test_4xx_is_replayed_5xx_and_409_are_not_stored(probe, app, admin_headers):
    client, state = probe
    state.fail = 500
    assert (
        await client.post(URL, json={"n": 1}, headers=keyed(admin_headers, "k5"))
    ).status_code == 500
    state.fail = 409
    error(
        await client.post(URL, json={"n": 1}, headers=keyed(admin_headers, "k9")), 409, "conflict"
    )
    assert await records(app) == []
    state.fail = None
    for key in ("k5", "k9"):  # nothing was stored: the retries run
        retry = await client.post(URL, json={"n": 1}, headers=keyed(admin_headers, key))
        assert ok(retry)["run"] in (3, 4) and "Idempotent-Replayed" not in retry.headers

    state.fail = 404
    first = await client.post(URL, json={"n": 1}, headers=keyed(admin_headers, "k4"))
    error(first, 404, "not_found", "Thing with id thing_1 was not found")
    state.fail = None
    replay = await client.post(URL, json={"n": 1}, headers=keyed(admin_headers, "k4"))
    assert replay.status_code == 404 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.content == first.content and state.runs == 5


async def test_an_expired_record_is_ignored_and_cleaned_up(probe, app, admin_headers):
    client, state = probe
    ok(await client.post(URL, json={"n": 1}, headers=keyed(admin_headers, "old")))
    for n in range(3):
        ok(await client.post(URL, json={"n": 1}, headers=keyed(admin_headers, f"gone-{n}")))
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(
            text("UPDATE idempotency_key SET expires_at = now() - interval '1 second'")
        )
    # expired: another body is no longer a reuse, the request runs and claims the key anew
    fresh = await client.post(URL, json={"n": 2}, headers=keyed(admin_headers, "old"))
    assert ok(fresh)["run"] == 5 and "Idempotent-Replayed" not in fresh.headers
    assert [r.key for r in await records(app)] == ["old"]  # the other expired ones are gone
    replay = await client.post(URL, json={"n": 2}, headers=keyed(admin_headers, "old"))
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.json()["run"] == 5


async def test_a_claim_whose_lease_passed_is_taken_over(probe, app, admin_headers):
    """A request that died holding its claim blocks the key only until its lease ends."""
    client, state = probe
    ok(await client.post(URL, json={"n": 1}, headers=keyed(admin_headers, "crash")))
    (record,) = await records(app)
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(
            text(
                "UPDATE idempotency_key SET claim = 'dead', response_status = NULL, "
                "locked_until = now() + interval '1 minute'"
            )
        )
    error(
        await client.post(URL, json={"n": 1}, headers=keyed(admin_headers, "crash")),
        409,
        "conflict",
        IN_USE,
    )
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(text("UPDATE idempotency_key SET locked_until = now()"))
    taken = await client.post(URL, json={"n": 1}, headers=keyed(admin_headers, "crash"))
    assert ok(taken)["run"] == 2 and "Idempotent-Replayed" not in taken.headers
    (record,) = await records(app)
    assert record.claim is None and record.response_status == 200


async def test_store_keys_are_scoped_to_the_customer_or_the_publishable_key(
    probe, app, client, store_headers
):
    probe_client, state = probe
    url = "/store/idempotency-probe"
    guest = ok(await probe_client.post(url, json={}, headers=keyed(store_headers, "s")))
    assert guest["actor"].startswith("publishable_key:apk_")
    customers = []
    for email in ("ann@example.com", "bob@example.com"):
        token = ok(
            await client.post(
                "/auth/customer/emailpass/register", json={"email": email, "password": PASSWORD}
            )
        )["token"]
        ok(
            await client.post(
                "/store/customers",
                json={"email": email},
                headers={**store_headers, **bearer(token)},
            )
        )
        customers.append({**store_headers, **await login(client, "customer", email, PASSWORD)})
    runs = [ok(await probe_client.post(url, json={}, headers=keyed(c, "s"))) for c in customers]
    assert [r["run"] for r in runs] == [2, 3]
    assert all(r["actor"].startswith("customer:cus_") for r in runs)
    replay = await probe_client.post(url, json={}, headers=keyed(customers[0], "s"))
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.json() == runs[0]
    assert state.runs == 3 and await count(app, IdempotencyRecord) == 3


async def test_a_request_without_a_key_records_nothing(probe, app, admin_headers):
    client, state = probe
    for _ in range(2):
        ok(await client.post(URL, json={"n": 1}, headers=admin_headers))
    assert state.runs == 2 and await records(app) == []
