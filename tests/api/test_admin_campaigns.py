"""Admin campaigns (promotions.md, Data, Admin API, Errors): CRUD with budgets in major units,
the budget's rules, attaching promotions, and deleting a campaign detaching them."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from mercato.promotions.models import PromotionCampaignBudget
from tests.api.helpers import error, ok
from tests.api.test_admin_promotions import body as promotion_body
from tests.api.test_admin_promotions import create as create_promotion
from tests.api.test_admin_promotions import events_of
from tests.api.test_resources_crud import TIMESTAMP, assert_id

URL = "/admin/campaigns"
CAMPAIGN_KEYS = {
    "id",
    "name",
    "campaign_identifier",
    "description",
    "starts_at",
    "ends_at",
    "seller_id",
    "budget",
    "created_at",
    "updated_at",
}


async def create_campaign(client, admin: dict, identifier: str = "summer", **fields: Any) -> dict:
    payload = {"name": fields.pop("name", identifier.title()), "campaign_identifier": identifier}
    return ok(await client.post(URL, json={**payload, **fields}, headers=admin))["campaign"]


def fixed(currency: str = "usd", value: float = 5) -> dict[str, Any]:
    return {
        "type": "fixed",
        "target_type": "order",
        "value": value,
        "currency_code": currency,
    }


async def use_budget(app, campaign_id: str, used: int) -> None:
    """What completions would have consumed (minor units for spend)."""
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(
            update(PromotionCampaignBudget)
            .where(PromotionCampaignBudget.campaign_id == campaign_id)
            .values(used=used)
        )


async def test_campaign_crud(client, app, market):
    admin = market.admin
    campaign = await create_campaign(
        client,
        admin,
        "summer-2026",
        name="Summer",
        description="Hot deals",
        starts_at="2026-06-01T00:00:00Z",
        ends_at="2026-09-01T00:00:00+02:00",
        budget={"type": "spend", "limit": 500.5, "currency_code": "USD"},
    )
    assert_id(campaign["id"], "procamp")
    assert set(campaign) == CAMPAIGN_KEYS
    assert campaign["starts_at"] == "2026-06-01T00:00:00.000Z"
    assert campaign["ends_at"] == "2026-08-31T22:00:00.000Z"
    assert (campaign["seller_id"], campaign["description"]) == (None, "Hot deals")
    assert TIMESTAMP.match(campaign["created_at"])
    budget = campaign["budget"]
    assert_id(budget["id"], "probudg")
    assert budget == {
        "id": budget["id"],
        "type": "spend",
        "limit": 500.5,
        "used": 0,
        "currency_code": "usd",
    }
    url = f"{URL}/{campaign['id']}"
    assert ok(await client.get(url, headers=admin))["campaign"] == campaign

    await use_budget(app, campaign["id"], 1250)
    shown = ok(await client.get(url, headers=admin))["campaign"]
    assert shown["budget"]["used"] == 12.5
    updated = ok(
        await client.post(
            url,
            json={"name": "Summer sale", "ends_at": None, "budget": {"limit": 12.5}},
            headers=admin,
        )
    )["campaign"]
    assert (updated["name"], updated["ends_at"]) == ("Summer sale", None)
    assert updated["budget"]["limit"] == 12.5 and updated["budget"]["id"] == budget["id"]
    assert updated["campaign_identifier"] == "summer-2026"

    usage = await create_campaign(client, admin, "winter", budget={"type": "usage", "limit": 3})
    assert usage["budget"]["limit"] == 3 and usage["budget"]["currency_code"] is None
    # An unused budget can change type, and be removed.
    changed = ok(
        await client.post(
            f"{URL}/{usage['id']}",
            json={"budget": {"type": "spend", "limit": 100, "currency_code": "eur"}},
            headers=admin,
        )
    )["campaign"]
    assert (changed["budget"]["type"], changed["budget"]["limit"]) == ("spend", 100)
    removed = ok(await client.post(f"{URL}/{usage['id']}", json={"budget": None}, headers=admin))
    assert removed["campaign"]["budget"] is None
    added = ok(
        await client.post(
            f"{URL}/{usage['id']}", json={"budget": {"type": "usage", "limit": 1}}, headers=admin
        )
    )
    assert added["campaign"]["budget"]["limit"] == 1

    gone = ok(await client.delete(url, headers=admin))
    assert gone == {"id": campaign["id"], "object": "campaign", "deleted": True}
    message = f"Campaign with id {campaign['id']} was not found"
    error(await client.get(url, headers=admin), 404, "not_found", message)
    error(await client.post(url, json={"name": "x"}, headers=admin), 404, "not_found", message)
    error(await client.delete(url, headers=admin), 404, "not_found", message)
    error(await client.post(f"{url}/promotions", json={}, headers=admin), 404, "not_found", message)
    # The identifier of a deleted campaign is free again.
    await create_campaign(client, admin, "summer-2026")
    assert await events_of(app, campaign["id"]) == [
        "campaign.created",
        "campaign.updated",
        "campaign.deleted",
    ]


async def test_campaign_list(client, market):
    admin = market.admin
    summer = await create_campaign(client, admin, "summer", name="Summer sale")
    winter = await create_campaign(client, admin, "winter", name="Winter 100%")

    async def identifiers(query: str) -> list[str]:
        listed = ok(await client.get(f"{URL}?{query}", headers=admin))
        return [c["campaign_identifier"] for c in listed["campaigns"]]

    listed = ok(await client.get(URL, headers=admin))
    assert (listed["count"], listed["limit"]) == (2, 50)
    assert [c["id"] for c in listed["campaigns"]] == [winter["id"], summer["id"]]
    assert await identifiers("order=name") == ["summer", "winter"]
    assert await identifiers("q=SALE") == ["summer"]
    assert await identifiers("q=100%") == ["winter"]
    assert await identifiers("campaign_identifier=winter") == ["winter"]
    assert await identifiers(f"id={summer['id']}") == ["summer"]
    assert await identifiers("seller_id=sel_x") == []
    error(
        await client.get(f"{URL}?order=starts_at", headers=admin),
        400,
        "invalid_data",
        "Order field starts_at is not valid",
    )


async def test_identifiers_are_unique(client, market):
    admin = market.admin
    await create_campaign(client, admin, "summer")
    other = await create_campaign(client, admin, "winter")
    message = "Campaign with campaign_identifier summer already exists"
    payload = {"name": "S", "campaign_identifier": "summer"}
    error(await client.post(URL, json=payload, headers=admin), 422, "duplicate_error", message)
    error(
        await client.post(
            f"{URL}/{other['id']}", json={"campaign_identifier": "summer"}, headers=admin
        ),
        422,
        "duplicate_error",
        message,
    )
    inline = {**promotion_body("X1"), "campaign": payload}
    error(
        await client.post("/admin/promotions", json=inline, headers=admin),
        422,
        "duplicate_error",
        message,
    )


CAMPAIGN_ERRORS: list[tuple[dict[str, Any], str | None]] = [
    (
        {"starts_at": "2026-06-01T00:00:00Z", "ends_at": "2026-06-01T00:00:00Z"},
        "starts_at must be before ends_at",
    ),
    (
        {"starts_at": "2026-06-01"},
        "Invalid request: starts_at: must be an ISO-8601 date with a time zone",
    ),
    ({"ends_at": "soon"}, "Invalid request: ends_at: must be an ISO-8601 date"),
    (
        {"budget": {"type": "spend", "limit": 10}},
        "budget.currency_code is required for spend budgets",
    ),
    (
        {"budget": {"type": "spend", "limit": 10, "currency_code": "xyz"}},
        "budget.currency_code xyz is not a currency",
    ),
    (
        {"budget": {"type": "usage", "limit": 10, "currency_code": "usd"}},
        "budget.currency_code is only allowed for spend budgets",
    ),
    ({"budget": {"type": "usage", "limit": 0}}, "budget.limit must be greater than 0"),
    ({"budget": {"type": "usage", "limit": -1}}, "budget.limit must be greater than 0"),
    (
        {"budget": {"type": "usage", "limit": 1.5}},
        "budget.limit must be an integer for usage budgets",
    ),
    (
        {"budget": {"type": "spend", "limit": 1.001, "currency_code": "usd"}},
        "budget.limit must be an amount in usd with at most 2 decimals",
    ),
    (
        {"budget": {"type": "use_by_attribute", "limit": 1}},
        "budget.type use_by_attribute is not supported",
    ),
    (
        {"budget": {"type": "spend_by_attribute", "limit": 1}},
        "budget.type spend_by_attribute is not supported",
    ),
    ({"budget": {"type": "gift", "limit": 1}}, "budget.type must be one of spend, usage"),
    ({"budget": {"type": "usage"}}, "Invalid request: budget.limit: Field required"),
    (
        {"budget": {"type": "usage", "limit": 10**16}},
        "budget.limit must be at most 1000000000000000",
    ),
    (
        {"budget": {"type": "spend", "limit": 10**14, "currency_code": "usd"}},
        "budget.limit must be at most 10000000000000",
    ),
    ({"seller_id": "sel_x"}, "Invalid request: Unrecognized fields: 'seller_id'"),
    ({"name": "  "}, None),
]


@pytest.mark.parametrize(("fields", "message"), CAMPAIGN_ERRORS)
async def test_invalid_campaign_bodies(client, market, fields, message):
    payload = {"name": "Summer", "campaign_identifier": "summer", **fields}
    error(await client.post(URL, json=payload, headers=market.admin), 400, "invalid_data", message)
    assert ok(await client.get(URL, headers=market.admin))["count"] == 0


async def test_budget_changes_after_use(client, app, market):
    admin = market.admin
    spend = await create_campaign(
        client, admin, "spend", budget={"type": "spend", "limit": 50, "currency_code": "usd"}
    )
    usage = await create_campaign(client, admin, "usage", budget={"type": "usage", "limit": 20})
    await use_budget(app, spend["id"], 1200)
    await use_budget(app, usage["id"], 12)
    for campaign, payload, message in (
        (
            usage,
            {"budget": {"limit": 10}},
            "Campaign budget limit 10 is below what is already used (12)",
        ),
        (
            spend,
            {"budget": {"limit": 11.99}},
            "Campaign budget limit 11.99 is below what is already used (12)",
        ),
        (
            usage,
            {"budget": {"type": "spend", "limit": 100, "currency_code": "usd"}},
            "budget.type cannot change from usage to spend once the budget is used",
        ),
        (
            spend,
            {"budget": {"currency_code": "eur", "limit": 100}},
            "budget.currency_code cannot change once the budget is used",
        ),
        (spend, {"budget": None}, "budget cannot be removed once it is used"),
        (
            spend,
            {"starts_at": "2026-02-01T00:00:00Z", "ends_at": "2026-01-01T00:00:00Z"},
            "starts_at must be before ends_at",
        ),
        (usage, {"name": None}, "Invalid request: name: must not be null"),
    ):
        response = await client.post(f"{URL}/{campaign['id']}", json=payload, headers=admin)
        error(response, 400, "invalid_data", message)
    raised = ok(
        await client.post(f"{URL}/{usage['id']}", json={"budget": {"limit": 12}}, headers=admin)
    )
    assert raised["campaign"]["budget"] == {**usage["budget"], "limit": 12, "used": 12}


async def test_campaign_promotions_and_currencies(client, app, market):
    admin, acme = market.admin, market.acme
    campaign = await create_campaign(
        client, admin, "summer", budget={"type": "spend", "limit": 100, "currency_code": "usd"}
    )
    other = await create_campaign(client, admin, "other")
    url = f"{URL}/{campaign['id']}/promotions"
    percent = await create_promotion(client, admin, "PCT")
    dollars = await create_promotion(client, admin, "USD5", application_method=fixed("usd"))
    euros = await create_promotion(client, admin, "EUR5", application_method=fixed("eur"))
    sellers = await create_promotion(client, admin, "ACME", seller_id=acme["id"])
    moved = await create_promotion(client, admin, "MOVED", campaign_id=other["id"])
    assert moved["campaign_id"] == other["id"]

    attached = ok(
        await client.post(
            f"{url}?fields=id,promotions.code",
            json={"add": [percent["id"], dollars["id"], moved["id"]]},
            headers=admin,
        )
    )["campaign"]
    assert [p["code"] for p in attached["promotions"]] == ["PCT", "USD5", "MOVED"]
    for payload, message in (
        (
            {"add": [euros["id"]]},
            "Promotion currency eur does not match campaign budget currency usd",
        ),
        ({"add": [sellers["id"]]}, f"Promotion with id {sellers['id']} was not found"),
        ({"add": ["promo_x"]}, "Promotion with id promo_x was not found"),
        ({"remove": [euros["id"]]}, f"Promotion {euros['id']} is not in campaign {campaign['id']}"),
        ({"foo": []}, "Invalid request: Unrecognized fields: 'foo'"),
    ):
        error(await client.post(url, json=payload, headers=admin), 400, "invalid_data", message)
    # The same currency rule when a promotion joins by its own update or at creation.
    for response in (
        await client.post(
            f"/admin/promotions/{euros['id']}", json={"campaign_id": campaign["id"]}, headers=admin
        ),
        await client.post(
            "/admin/promotions",
            json={
                **promotion_body("EUR6", application_method=fixed("eur")),
                "campaign_id": campaign["id"],
            },
            headers=admin,
        ),
        await client.post(
            f"/admin/promotions/{dollars['id']}",
            json={"application_method": {"currency_code": "eur"}},
            headers=admin,
        ),
        await client.post(
            "/admin/promotions",
            json={
                **promotion_body("EUR7", application_method=fixed("eur")),
                "campaign": {
                    "name": "New",
                    "campaign_identifier": "new",
                    "budget": {"type": "spend", "limit": 10, "currency_code": "usd"},
                },
            },
            headers=admin,
        ),
    ):
        error(
            response,
            400,
            "invalid_data",
            "Promotion currency eur does not match campaign budget currency usd",
        )
    # A budget whose currency its fixed promotions do not share is refused too.
    error(
        await client.post(
            f"{URL}/{campaign['id']}",
            json={"budget": {"currency_code": "eur", "limit": 100}},
            headers=admin,
        ),
        400,
        "invalid_data",
        "Promotion currency usd does not match campaign budget currency eur",
    )
    # A seller's promotion cannot join an operator campaign.
    error(
        await client.post(
            f"/admin/promotions/{sellers['id']}",
            json={"campaign_id": campaign["id"]},
            headers=admin,
        ),
        400,
        "invalid_data",
        f"Campaign with id {campaign['id']} was not found",
    )

    inline = ok(
        await client.post(
            "/admin/promotions?fields=id,campaign_id,*campaign",
            json={
                **promotion_body("INLINE"),
                "campaign": {
                    "name": "Inline",
                    "campaign_identifier": "inline",
                    "budget": {"type": "usage", "limit": 5},
                },
            },
            headers=admin,
        )
    )["promotion"]
    assert inline["campaign"]["campaign_identifier"] == "inline"
    assert inline["campaign"]["budget"]["limit"] == 5
    assert inline["campaign_id"] == inline["campaign"]["id"]

    detached = ok(await client.post(url, json={"remove": [percent["id"]]}, headers=admin))
    assert detached["campaign"]["id"] == campaign["id"]
    assert (
        ok(await client.get(f"/admin/promotions/{percent['id']}", headers=admin))["promotion"][
            "campaign_id"
        ]
        is None
    )

    ok(await client.delete(f"{URL}/{campaign['id']}", headers=admin))
    for promotion in (dollars, moved):
        shown = ok(await client.get(f"/admin/promotions/{promotion['id']}", headers=admin))
        assert shown["promotion"]["campaign_id"] is None
    assert "promotion.updated" in await events_of(app, dollars["id"])
