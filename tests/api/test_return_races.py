"""Idempotency and concurrency of returns and credit lines (order-changes.md §13): a retried
request with its ``Idempotency-Key`` is replayed and applied once; real parallel requests on one
order serialize on its lock, so a change is confirmed once and stock is restocked once."""

from __future__ import annotations

import asyncio

import httpx

from tests.api.helpers import PASSWORD, create_admin, error, login, ok
from tests.api.return_helpers import NO_ACTIVE_CHANGE, Returns, setup

REPLAYED = "Idempotent-Replayed"


def _keyed(r: Returns, key: str) -> dict[str, str]:
    return {**r.admin, "Idempotency-Key": key}


def _reused(response: httpx.Response, key: str) -> None:
    error(
        response,
        400,
        "invalid_data",
        f"Idempotency-Key {key} was already used for a different request",
    )
    assert response.json()["code"] == "idempotency_key_reused"


def _replay_of(first: httpx.Response, again: httpx.Response) -> None:
    assert REPLAYED not in first.headers
    assert again.headers[REPLAYED] == "true"
    assert ok(again) == ok(first)


async def _versions(r: Returns) -> tuple[int, int]:
    return (await r.order(r.a))["version"], (await r.order(r.b))["version"]


async def test_a_retried_request_receipt_and_cancel_apply_once(client, app, place_group):
    r = await setup(client, app, place_group)
    await r.fulfil(r.a)
    shirt_variant = r.market.variants[r.a_seller][0]
    stock = await r.stock(shirt_variant)

    ret = await r.begin()
    two = {"items": [{"id": r.shirt, "quantity": 2}]}
    ok(await r.post(f"/admin/returns/{ret}/request-items", two))
    path = f"/admin/returns/{ret}/request"
    first = await client.post(path, json={}, headers=_keyed(r, "request-1"))
    again = await client.post(path, json={}, headers=_keyed(r, "request-1"))
    _replay_of(first, again)
    assert await _versions(r) == (2, 1)
    assert len(await r.events("order.return_requested")) == 1
    _reused(
        await client.post(path, json={"no_notification": True}, headers=_keyed(r, "request-1")),
        "request-1",
    )
    # without the key the second request is a plain repeat: refused, nothing applied
    error(await r.post(path, {}), 400, "invalid_data", NO_ACTIVE_CHANGE)

    ok(await r.post(f"/admin/returns/{ret}/receive"))
    one = {"items": [{"id": r.shirt, "quantity": 1}]}
    ok(await r.post(f"/admin/returns/{ret}/receive-items", one))
    path = f"/admin/returns/{ret}/receive/confirm"
    first = await client.post(path, headers=_keyed(r, "confirm-1"))
    again = await client.post(path, headers=_keyed(r, "confirm-1"))
    _replay_of(first, again)
    assert ok(first)["return"]["status"] == "partially_received"
    assert await r.stock(shirt_variant) == (stock[0] + 1, stock[1])  # restocked once
    assert await _versions(r) == (3, 1)
    assert len(await r.events("order.return_received")) == 1

    # a cancel, of another return (the first one has a received unit)
    other = await r.begin()
    ok(
        await r.post(
            f"/admin/returns/{other}/request-items", {"items": [{"id": r.cap, "quantity": 1}]}
        )
    )
    ok(await r.post(f"/admin/returns/{other}/request"))
    path = f"/admin/returns/{other}/cancel"
    first = await client.post(path, json={}, headers=_keyed(r, "cancel-1"))
    again = await client.post(path, json={}, headers=_keyed(r, "cancel-1"))
    _replay_of(first, again)
    assert ok(first)["return"]["status"] == "canceled"
    assert await _versions(r) == (5, 1)  # request + cancel of the second return
    assert len(await r.events("order.return_canceled")) == 1
    _reused(
        await client.post(path, json={"no_notification": True}, headers=_keyed(r, "cancel-1")),
        "cancel-1",
    )
    # the same key on another path is another request
    error(
        await client.post(f"/admin/returns/{ret}/cancel", json={}, headers=_keyed(r, "cancel-1")),
        400,
        "not_allowed",
        "Can't cancel a return which has returned items",
    )


async def test_a_retried_credit_line_is_booked_once(client, app, place_group):
    r = await setup(client, app, place_group)
    body = {"amount": 10, "reference": "goodwill", "reference_id": "t-1"}
    path = f"/admin/orders/{r.b}/credit-lines"  # B is authorized only: pending 38.50
    first = await client.post(path, json=body, headers=_keyed(r, "credit-1"))
    again = await client.post(path, json=body, headers=_keyed(r, "credit-1"))
    _replay_of(first, again)
    order = await r.order(r.b)
    assert [c["amount"] for c in order["credit_lines"]] == [10]
    assert order["version"] == 2 and order["summary"]["pending_difference"] == 28.5
    assert len(await r.events("order.credit_line_created")) == 1
    _reused(
        await client.post(path, json={**body, "amount": 11}, headers=_keyed(r, "credit-1")),
        "credit-1",
    )
    assert (await r.order(r.b))["credit_lines"] == order["credit_lines"]


async def test_a_burst_with_one_key_confirms_the_receipt_once(client, app, place_group):
    r = await setup(client, app, place_group)
    await r.fulfil(r.a)
    shirt_variant = r.market.variants[r.a_seller][0]
    stock = await r.stock(shirt_variant)
    ret = await r.requested(1)
    ok(await r.post(f"/admin/returns/{ret}/receive"))
    ok(
        await r.post(
            f"/admin/returns/{ret}/receive-items", {"items": [{"id": r.shirt, "quantity": 1}]}
        )
    )
    responses = await asyncio.gather(
        *(
            client.post(f"/admin/returns/{ret}/receive/confirm", headers=_keyed(r, "burst"))
            for _ in range(4)
        )
    )
    assert {x.status_code for x in responses} <= {200, 409}
    bodies = [x.json() for x in responses if x.status_code == 200]
    assert bodies and all(body == bodies[0] for body in bodies)
    assert await r.stock(shirt_variant) == (stock[0] + 1, stock[1])
    assert (await r.order(r.a))["version"] == 3
    assert len(await r.events("order.return_received")) == 1


async def test_concurrent_confirms_of_one_receipt_restock_once(client, app, place_group):
    r = await setup(client, app, place_group)
    await r.fulfil(r.a)
    shirt_variant = r.market.variants[r.a_seller][0]
    stock = await r.stock(shirt_variant)
    ret = await r.requested(2)
    for round_ in (1, 2):
        ok(await r.post(f"/admin/returns/{ret}/receive"))
        ok(
            await r.post(
                f"/admin/returns/{ret}/receive-items", {"items": [{"id": r.shirt, "quantity": 1}]}
            )
        )
        responses = await asyncio.gather(
            *(client.post(f"/admin/returns/{ret}/receive/confirm", headers=r.admin) for _ in "abcd")
        )
        assert sorted(x.status_code for x in responses) == [200, 400, 400, 400]
        for refused in (x for x in responses if x.status_code == 400):
            error(refused, 400, "invalid_data", NO_ACTIVE_CHANGE)
        assert await r.stock(shirt_variant) == (stock[0] + round_, stock[1])
        assert (await r.order(r.a))["version"] == 2 + round_
    assert (await r.get_return(ret))["status"] == "received"
    assert len(await r.events("order.return_received")) == 2


async def _second_admin(client, app) -> dict[str, str]:
    await create_admin(app, email="second@example.com")
    return await login(client, "user", "second@example.com", PASSWORD)


async def test_two_admins_receiving_two_returns_of_one_order_at_once(client, app, place_group):
    """Each receipt either runs whole or is refused at its start by the other's active change;
    nothing is restocked twice, and the refused one succeeds when retried."""
    r = await setup(client, app, place_group)
    other_admin = await _second_admin(client, app)
    await r.fulfil(r.a)
    shirt_variant, cap_variant = r.market.variants[r.a_seller]
    before = {v: await r.stock(v) for v in (shirt_variant, cap_variant)}
    shirts = await r.requested(2)
    cap = await r.requested(1, r.cap)

    async def receive(ret: str, line: str, quantity: int, headers: dict) -> list[httpx.Response]:
        """Begin, receive and confirm; stops at the first refusal."""
        steps = [
            (f"/admin/returns/{ret}/receive", {}),
            (
                f"/admin/returns/{ret}/receive-items",
                {"items": [{"id": line, "quantity": quantity}]},
            ),
            (f"/admin/returns/{ret}/receive/confirm", None),
        ]
        answers = []
        for path, body in steps:
            answers.append(await client.post(path, json=body, headers=headers))
            if answers[-1].status_code != 200:
                break
        return answers

    flows = {
        shirts: (r.shirt, 2, r.admin, shirt_variant),
        cap: (r.cap, 1, other_admin, cap_variant),
    }
    outcomes = dict(
        zip(
            flows,
            await asyncio.gather(*(receive(ret, *flow[:3]) for ret, flow in flows.items())),
            strict=True,
        )
    )
    done = [
        ret for ret, answers in outcomes.items() if len(answers) == 3 and answers[-1].is_success
    ]
    assert done, outcomes
    changes = ok(await client.get(f"/admin/orders/{r.a}/changes", headers=r.admin))["order_changes"]
    receipts = {c["return_id"]: c["id"] for c in changes if c["change_type"] == "return_receive"}
    for ret, answers in outcomes.items():
        if ret in done:
            assert [a.status_code for a in answers] == [200, 200, 200]
            continue
        # refused at its start, naming the other return's receipt
        (refused,) = answers
        (winner,) = done
        error(
            refused,
            400,
            "invalid_data",
            f"Order ({r.a}) already has an existing active order change: {receipts[winner]} "
            "(return_receive)",
        )
    for ret, (_, quantity, _, variant) in flows.items():
        received = quantity if ret in done else 0
        assert await r.stock(variant) == (before[variant][0] + received, before[variant][1])

    # the refused receipt, retried, runs; each unit restocked exactly once
    for ret, (line, quantity, headers, _) in flows.items():
        if ret not in done:
            assert [a.status_code for a in await receive(ret, line, quantity, headers)] == [200] * 3
    for ret, (_, quantity, _, variant) in flows.items():
        assert await r.stock(variant) == (before[variant][0] + quantity, before[variant][1])
        assert (await r.get_return(ret))["status"] == "received"
    order = await r.order(r.a)
    assert order["version"] == 5  # two requests, two receipts
    assert order["summary"]["return_requested_total"] == 0
    assert len(await r.events("order.return_received")) == 2


async def test_a_cancel_racing_a_receipt_of_another_return(client, app, place_group):
    """Confirming one return's receipt while another return is canceled: the confirm always
    runs; the cancel runs after it or is refused by the receipt's active change."""
    r = await setup(client, app, place_group)
    await r.fulfil(r.a)
    shirt_variant = r.market.variants[r.a_seller][0]
    stock = await r.stock(shirt_variant)
    shirts = await r.requested(1)
    cap = await r.requested(1, r.cap)
    ok(await r.post(f"/admin/returns/{shirts}/receive"))
    body = ok(
        await r.post(
            f"/admin/returns/{shirts}/receive-items", {"items": [{"id": r.shirt, "quantity": 1}]}
        )
    )
    receipt = body["order_preview"]["order_change"]["id"]
    confirm, cancel = await asyncio.gather(
        client.post(f"/admin/returns/{shirts}/receive/confirm", headers=r.admin),
        client.post(f"/admin/returns/{cap}/cancel", json={}, headers=r.admin),
    )
    assert ok(confirm)["return"]["status"] == "received"
    order = await r.order(r.a)
    if cancel.status_code == 200:
        assert (await r.get_return(cap))["status"] == "canceled" and order["version"] == 5
    else:
        error(
            cancel,
            400,
            "invalid_data",
            f"Order ({r.a}) already has an existing active order change: {receipt} "
            "(return_receive)",
        )
        assert (await r.get_return(cap))["status"] == "requested" and order["version"] == 4
    assert await r.stock(shirt_variant) == (stock[0] + 1, stock[1])


async def test_concurrent_requests_and_cancels_of_one_return_apply_once(client, app, place_group):
    r = await setup(client, app, place_group)
    await r.fulfil(r.a)
    ret = await r.begin()
    ok(
        await r.post(
            f"/admin/returns/{ret}/request-items", {"items": [{"id": r.shirt, "quantity": 1}]}
        )
    )
    requests = await asyncio.gather(
        *(client.post(f"/admin/returns/{ret}/request", json={}, headers=r.admin) for _ in "abc")
    )
    assert sorted(x.status_code for x in requests) == [200, 400, 400]
    for refused in (x for x in requests if x.status_code == 400):
        error(refused, 400, "invalid_data", NO_ACTIVE_CHANGE)
    order = await r.order(r.a)
    assert order["version"] == 2 and order["summary"]["current_order_total"] == 51.7

    cancels = await asyncio.gather(
        *(client.post(f"/admin/returns/{ret}/cancel", json={}, headers=r.admin) for _ in "abc")
    )
    assert sorted(x.status_code for x in cancels) == [200, 400, 400]
    for refused in (x for x in cancels if x.status_code == 400):
        error(refused, 400, "invalid_data", f"Return with id {ret} has been canceled.")
    order = await r.order(r.a)
    assert order["version"] == 3 and order["summary"]["current_order_total"] == 84.7
    assert len(await r.events("order.return_requested")) == 1
    assert len(await r.events("order.return_canceled")) == 1


async def test_concurrent_credit_lines_never_exceed_the_pending_difference(
    client, app, place_group
):
    r = await setup(client, app, place_group)  # B authorized only: pending 38.50
    body = {"amount": 30, "reference": "goodwill", "reference_id": "t-1"}
    answers = await asyncio.gather(
        *(
            client.post(f"/admin/orders/{r.b}/credit-lines", json=body, headers=r.admin)
            for _ in "ab"
        )
    )
    assert sorted(x.status_code for x in answers) == [200, 400]
    (refused,) = [x for x in answers if x.status_code == 400]
    error(
        refused,
        400,
        "invalid_data",
        "Cannot create more positive credit lines with amount more than the pending difference",
    )
    order = await r.order(r.b)
    assert [c["amount"] for c in order["credit_lines"]] == [30]
    assert order["version"] == 2 and order["summary"]["pending_difference"] == 8.5
