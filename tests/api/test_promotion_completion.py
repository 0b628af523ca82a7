"""Completion with promotions (promotions.md, Completion; checkout.md precondition 7): budgets
and limits consumed once per completed cart and never overspent by concurrent completions; a
promotion that changed between apply and complete refuses the completion, creates nothing and
refreshes the cart."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select

from mercato.events.models import OutboxEvent
from mercato.orders.models import OrderGroup
from mercato.payments.models import PaymentSession
from mercato.promotions.models import PromotionUsage
from tests.api.checkout_helpers import build_marketplace, cart_with_items, complete, pay
from tests.api.helpers import error, ok
from tests.api.promotion_helpers import (
    apply_codes,
    cents,
    create_promotion,
    example_cart,
    example_market,
    percentage,
)

CAMPAIGNS = "/admin/campaigns"


async def campaign(client, admin: dict, identifier: str, **budget: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": identifier.title(), "campaign_identifier": identifier}
    if budget:
        body["budget"] = budget
    return ok(await client.post(CAMPAIGNS, json=body, headers=admin))["campaign"]


async def coded_carts(client, market, code: str, count: int) -> list[dict[str, Any]]:
    """``count`` paid carts of one unit of seller 0's 10.99 variant, ``code`` entered."""
    seller = market.sellers[0]["id"]
    carts = []
    for _ in range(count):
        cart = await cart_with_items(client, market, [(market.variants[seller][0], 1)])
        cart = ok(
            await client.post(
                f"/store/carts/{cart['id']}/promotions",
                json={"promo_codes": [code]},
                headers=market.store,
            )
        )["cart"]
        await pay(client, market, cart["id"])
        carts.append(cart)
    return carts


async def counts(app) -> tuple[int, int]:
    async with app.state.sessionmaker() as session:
        groups = await session.scalar(select(func.count()).select_from(OrderGroup))
        usages = await session.scalar(select(func.count()).select_from(PromotionUsage))
        return int(groups or 0), int(usages or 0)


async def events(app, name: str) -> list[dict[str, Any]]:
    async with app.state.sessionmaker() as session:
        rows = await session.scalars(select(OutboxEvent.data).where(OutboxEvent.name == name))
        return list(rows)


async def complete_all(client, market, carts) -> list[Any]:
    return list(await asyncio.gather(*(complete(client, market, c["id"]) for c in carts)))


def outcomes(responses) -> tuple[int, list[dict[str, Any]]]:
    placed = [r for r in responses if r.status_code == 200]
    refused = [r.json() for r in responses if r.status_code != 200]
    return len(placed), refused


async def test_a_usage_budget_of_three_admits_exactly_three_of_thirteen_concurrent_carts(
    client, app, admin_headers
):
    market = await build_marketplace(client, admin_headers, sellers=1)
    summer = await campaign(client, admin_headers, "summer", type="usage", limit=3)
    await create_promotion(
        client, admin_headers, "SUMMER10", percentage(10), campaign_id=summer["id"]
    )
    carts = await coded_carts(client, market, "SUMMER10", 13)  # N + 10 (the test)

    placed, refused = outcomes(await complete_all(client, market, carts))

    assert placed == 3
    assert len(refused) == 10
    assert all(body["code"] == "promotion_budget_exhausted" for body in refused), refused
    assert all(body["message"].startswith("Promotion code SUMMER10 cannot") for body in refused)
    assert await counts(app) == (3, 3)
    budget = ok(await client.get(f"{CAMPAIGNS}/{summer['id']}", headers=admin_headers))["campaign"][
        "budget"
    ]
    assert budget["used"] == 3
    assert await events(app, "campaign.budget_exhausted") == [{"id": summer["id"]}]
    # The refused carts were refreshed: the exhausted promotion is gone, the total is full.
    seller = market.sellers[0]["id"]
    for cart in carts:
        fresh = ok(await client.get(f"/store/carts/{cart['id']}", headers=market.store))["cart"]
        if fresh["completed_at"] is None:
            assert fresh["promotions"] == []
            assert cents(fresh["total"]) == cents(fresh["original_total"])
            assert market.options[seller]


async def test_example_5_a_spend_budget_of_fifteen_admits_two_carts(client, app, admin_headers):
    """promotions.md example 5: 7.19 off each example cart, a 15.00 budget: two carts."""
    example = await example_market(client, admin_headers)
    spend = await campaign(
        client, admin_headers, "spend", type="spend", limit=15, currency_code="usd"
    )
    await create_promotion(
        client, admin_headers, "SUMMER10", percentage(10), campaign_id=spend["id"]
    )
    carts = []
    for _ in range(5):
        cart = await example_cart(client, example)
        ok(await apply_codes(client, example, cart["id"], "SUMMER10"))
        await pay(client, example.market, cart["id"])
        carts.append(cart)

    placed, refused = outcomes(await complete_all(client, example.market, carts))

    assert placed == 2
    assert {body["code"] for body in refused} == {"promotion_budget_exhausted"}
    budget = ok(await client.get(f"{CAMPAIGNS}/{spend['id']}", headers=admin_headers))["campaign"][
        "budget"
    ]
    assert budget["used"] == 14.38
    assert await counts(app) == (2, 2)


async def test_a_promotion_limit_admits_exactly_its_number_of_carts(client, app, admin_headers):
    market = await build_marketplace(client, admin_headers, sellers=1)
    promotion = await create_promotion(client, admin_headers, "TWICE", percentage(10), limit=2)
    carts = await coded_carts(client, market, "TWICE", 6)

    placed, refused = outcomes(await complete_all(client, market, carts))

    assert placed == 2
    assert {body["code"] for body in refused} == {"promotion_limit_reached"}
    used = ok(await client.get(f"/admin/promotions/{promotion['id']}", headers=admin_headers))
    assert used["promotion"]["used"] == 2
    assert await counts(app) == (2, 2)


async def test_a_repeated_completion_consumes_nothing_more(client, app, admin_headers):
    market = await build_marketplace(client, admin_headers, sellers=1)
    promotion = await create_promotion(client, admin_headers, "ONCE", percentage(10))
    (cart,) = await coded_carts(client, market, "ONCE", 1)
    first = ok(await complete(client, market, cart["id"]))["order_group"]
    again = ok(await complete(client, market, cart["id"]))["order_group"]
    assert again["id"] == first["id"]
    used = ok(await client.get(f"/admin/promotions/{promotion['id']}", headers=admin_headers))
    assert used["promotion"]["used"] == 1
    assert await counts(app) == (1, 1)


async def _refused_then_refreshed(client, app, market, cart, code: str, reason: str, detail: str):
    error(
        await complete(client, market, cart["id"]),
        400,
        "not_allowed",
        f"Promotion code {code} cannot be applied to cart {cart['id']}: {detail}",
    )
    assert (await counts(app))[0] == 0  # nothing created
    fresh = ok(await client.get(f"/store/carts/{cart['id']}", headers=market.store))["cart"]
    assert fresh["completed_at"] is None
    assert fresh["payment_collection"]["payment_sessions"] == []  # pay again: new total
    assert cents(fresh["total"]) != cents(cart["total"])
    return fresh


async def test_a_deactivated_promotion_refuses_the_completion(client, app, admin_headers):
    market = await build_marketplace(client, admin_headers, sellers=1)
    promotion = await create_promotion(client, admin_headers, "GONE", percentage(10))
    (cart,) = await coded_carts(client, market, "GONE", 1)
    ok(
        await client.post(
            f"/admin/promotions/{promotion['id']}",
            json={"status": "inactive"},
            headers=admin_headers,
        )
    )
    fresh = await _refused_then_refreshed(
        client,
        app,
        market,
        cart,
        "GONE",
        "promotion_not_found",
        "the promotion is no longer active",
    )
    assert fresh["promotions"] == []


async def test_an_ended_campaign_refuses_the_completion(client, app, admin_headers):
    market = await build_marketplace(client, admin_headers, sellers=1)
    window = await campaign(client, admin_headers, "window")
    await create_promotion(
        client, admin_headers, "WINDOW", percentage(10), campaign_id=window["id"]
    )
    (cart,) = await coded_carts(client, market, "WINDOW", 1)
    ok(
        await client.post(
            f"{CAMPAIGNS}/{window['id']}",
            json={"starts_at": "2020-01-01T00:00:00Z", "ends_at": "2021-01-01T00:00:00Z"},
            headers=admin_headers,
        )
    )
    response = await complete(client, market, cart["id"])
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "promotion_expired"
    assert "WINDOW" in response.json()["message"]
    assert (await counts(app))[0] == 0


async def test_an_edited_value_refuses_the_completion_as_changed(client, app, admin_headers):
    market = await build_marketplace(client, admin_headers, sellers=1)
    promotion = await create_promotion(client, admin_headers, "EDITED", percentage(10))
    (cart,) = await coded_carts(client, market, "EDITED", 1)
    ok(
        await client.post(
            f"/admin/promotions/{promotion['id']}",
            json={"application_method": {"value": 20}},
            headers=admin_headers,
        )
    )
    fresh = await _refused_then_refreshed(
        client,
        app,
        market,
        cart,
        "EDITED",
        "promotion_changed",
        "it changed since it was applied; apply it again",
    )
    # The refresh applied the new definition: the shopper sees the 20 % and pays again.
    assert [p["code"] for p in fresh["promotions"]] == ["EDITED"]
    assert cents(fresh["discount_subtotal"]) == 220


async def test_a_visibly_spent_budget_refuses_before_the_provider_is_called(
    client, app, admin_headers
):
    market = await build_marketplace(client, admin_headers, sellers=1)
    once = await campaign(client, admin_headers, "once", type="usage", limit=1)
    await create_promotion(client, admin_headers, "ONCE", percentage(10), campaign_id=once["id"])
    first, second = await coded_carts(client, market, "ONCE", 2)
    ok(await complete(client, market, first["id"]))
    response = await complete(client, market, second["id"])
    assert response.status_code == 400 and response.json()["code"] == "promotion_budget_exhausted"
    async with app.state.sessionmaker() as session:
        statuses = list(await session.scalars(select(PaymentSession.status)))
    assert (
        sorted(statuses) == ["authorized", "pending"][: len(statuses)] or "authorized" in statuses
    )
    assert statuses.count("authorized") == 1  # only the first cart's session was authorized
    # Its code cannot even be entered on a new cart any more.
    (third,) = await cart_and_code(client, market)
    assert third["code"] == "promotion_budget_exhausted"


async def cart_and_code(client, market) -> list[dict[str, Any]]:
    seller = market.sellers[0]["id"]
    cart = await cart_with_items(client, market, [(market.variants[seller][0], 1)])
    response = await client.post(
        f"/store/carts/{cart['id']}/promotions",
        json={"promo_codes": ["ONCE"]},
        headers=market.store,
    )
    assert response.status_code == 400
    return [response.json()]


async def test_a_campaign_not_started_refuses_the_completion(client, app, admin_headers):
    market = await build_marketplace(client, admin_headers, sellers=1)
    later = await campaign(client, admin_headers, "later")
    await create_promotion(client, admin_headers, "LATER", percentage(10), campaign_id=later["id"])
    (cart,) = await coded_carts(client, market, "LATER", 1)
    ok(
        await client.post(
            f"{CAMPAIGNS}/{later['id']}",
            json={"starts_at": "2999-01-01T00:00:00Z"},
            headers=admin_headers,
        )
    )
    response = await complete(client, market, cart["id"])
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "promotion_not_started"
    assert response.json()["message"] == (
        f"Promotion code LATER cannot be applied to cart {cart['id']}: "
        "the campaign starts at 2999-01-01T00:00:00.000Z"
    )
    assert (await counts(app))[0] == 0
