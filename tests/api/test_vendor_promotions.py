"""Seller-funded promotions and campaigns (promotions.md, ``/vendor``): a member manages its
seller's own with the admin's shapes; the seller owns and funds them, rules name only its own
catalogue, and another seller's promotions and campaigns, or the operator's, are invisible."""

from __future__ import annotations

from typing import Any

from tests.api.helpers import PASSWORD, create_product, error, login, ok
from tests.api.test_admin_promotions import body, events_of

PROMOTIONS = "/vendor/promotions"
CAMPAIGNS = "/vendor/campaigns"


async def member(client, admin: dict, seller_id: str, email: str) -> dict[str, str]:
    ok(
        await client.post(
            f"/admin/sellers/{seller_id}/members",
            json={"email": email, "password": PASSWORD, "name": "Staff"},
            headers=admin,
        )
    )
    return await login(client, "seller", email, PASSWORD)


def items_method(*rules: dict[str, Any], target_type: str = "items") -> dict[str, Any]:
    return {
        "type": "percentage",
        "target_type": target_type,
        "allocation": "across",
        "value": 10,
        "target_rules": list(rules),
    }


def rule(attribute: str, *values: str) -> dict[str, Any]:
    return {"attribute": attribute, "operator": "in", "values": list(values)}


async def test_a_member_manages_its_sellers_promotions(client, app, market):
    admin, acme, bolt = market.admin, market.acme, market.bolt
    vendor = await member(client, admin, acme["id"], "staff@acme.test")
    product = await create_product(client, admin, acme["id"])
    created = ok(
        await client.post(
            PROMOTIONS,
            json=body(
                "ACME10",
                status="active",
                application_method=items_method(
                    rule("items.product_id", product["id"]),
                    rule("items.variant.id", product["variants"][0]["id"]),
                ),
                rules=[rule("region.id", market.region["id"])],
            ),
            headers=vendor,
        )
    )["promotion"]
    assert (created["seller_id"], created["funded_by"]) == (acme["id"], "seller")
    target = created["application_method"]["target_rules"]
    assert [r["attribute"] for r in target] == ["items.product.id", "items.variant.id"]
    url = f"{PROMOTIONS}/{created['id']}"
    assert ok(await client.get(url, headers=vendor))["promotion"] == created
    # The admin sees it as the vendor does.
    admin_view = ok(await client.get(f"/admin/promotions/{created['id']}", headers=admin))
    assert admin_view["promotion"] == created

    updated = ok(await client.post(url, json={"status": "inactive", "limit": 10}, headers=vendor))[
        "promotion"
    ]
    assert (updated["status"], updated["limit"], updated["funded_by"]) == (
        "inactive",
        10,
        "seller",
    )
    batch = ok(
        await client.post(
            f"{url}/target-rules/batch",
            json={"delete": [target[1]["id"]]},
            headers=vendor,
        )
    )
    assert batch["deleted"]["ids"] == [target[1]["id"]]
    assert ok(await client.get(f"{url}/target-rules", headers=vendor))["rules"] == target[:1]
    assert len(ok(await client.get(f"{url}/rules", headers=vendor))["rules"]) == 1

    listed = ok(await client.get(PROMOTIONS, headers=vendor))
    assert [p["id"] for p in listed["promotions"]] == [created["id"]]
    # Codes share the marketplace-wide namespace.
    await client.post("/admin/promotions", json=body("SHOP5"), headers=admin)
    error(
        await client.post(PROMOTIONS, json=body("shop5"), headers=vendor),
        422,
        "duplicate_error",
        "Promotion with code shop5 already exists",
    )
    assert ok(await client.delete(url, headers=vendor)) == {
        "id": created["id"],
        "object": "promotion",
        "deleted": True,
    }
    error(
        await client.get(url, headers=vendor),
        404,
        "not_found",
        f"Promotion with id {created['id']} was not found",
    )
    assert await events_of(app, created["id"]) == [
        "promotion.created",
        "promotion.updated",
        "promotion.updated",
        "promotion.deleted",
    ]
    assert bolt["id"] != acme["id"]


async def test_vendors_see_only_their_own(client, market):
    admin, acme, bolt = market.admin, market.acme, market.bolt
    acme_staff = await member(client, admin, acme["id"], "staff@acme.test")
    bolt_staff = await member(client, admin, bolt["id"], "staff@bolt.test")
    operator = ok(await client.post("/admin/promotions", json=body("OPERATOR"), headers=admin))
    operator_id = operator["promotion"]["id"]
    # An admin-made promotion for Bolt is Bolt's, whoever funds it.
    for_bolt = ok(
        await client.post(
            "/admin/promotions",
            json=body("BOLTOP", seller_id=bolt["id"], funded_by="operator"),
            headers=admin,
        )
    )["promotion"]
    mine = ok(await client.post(PROMOTIONS, json=body("ACME5"), headers=acme_staff))["promotion"]
    operator_campaign = ok(
        await client.post(
            "/admin/campaigns", json={"name": "Op", "campaign_identifier": "op"}, headers=admin
        )
    )["campaign"]
    bolt_campaign = ok(
        await client.post(
            CAMPAIGNS,
            json={
                "name": "Bolt",
                "campaign_identifier": "bolt",
                "budget": {"type": "usage", "limit": 5},
            },
            headers=bolt_staff,
        )
    )["campaign"]
    assert bolt_campaign["seller_id"] == bolt["id"]

    listed = ok(await client.get(PROMOTIONS, headers=acme_staff))
    assert [p["code"] for p in listed["promotions"]] == ["ACME5"] and listed["count"] == 1
    bolt_list = ok(await client.get(PROMOTIONS, headers=bolt_staff))["promotions"]
    assert [p["code"] for p in bolt_list] == ["BOLTOP"]
    assert bolt_list[0]["funded_by"] == "operator"
    error(
        await client.get(f"{PROMOTIONS}?seller_id={bolt['id']}", headers=acme_staff),
        400,
        "invalid_data",
        "Invalid request: Unrecognized fields: 'seller_id'",
    )
    assert ok(await client.get(CAMPAIGNS, headers=acme_staff))["campaigns"] == []
    assert [c["id"] for c in ok(await client.get(CAMPAIGNS, headers=bolt_staff))["campaigns"]] == [
        bolt_campaign["id"]
    ]

    for promotion_id in (operator_id, for_bolt["id"]):
        message = f"Promotion with id {promotion_id} was not found"
        url = f"{PROMOTIONS}/{promotion_id}"
        for response in (
            await client.get(url, headers=acme_staff),
            await client.post(url, json={"status": "active"}, headers=acme_staff),
            await client.delete(url, headers=acme_staff),
            await client.get(f"{url}/rules", headers=acme_staff),
            await client.post(f"{url}/rules/batch", json={}, headers=acme_staff),
        ):
            error(response, 404, "not_found", message)
    for campaign_id in (operator_campaign["id"], bolt_campaign["id"]):
        message = f"Campaign with id {campaign_id} was not found"
        url = f"{CAMPAIGNS}/{campaign_id}"
        for response in (
            await client.get(url, headers=acme_staff),
            await client.post(url, json={"name": "Mine"}, headers=acme_staff),
            await client.delete(url, headers=acme_staff),
            await client.post(f"{url}/promotions", json={"add": []}, headers=acme_staff),
        ):
            error(response, 404, "not_found", message)
        # Nor can its promotion join it.
        error(
            await client.post(
                f"{PROMOTIONS}/{mine['id']}", json={"campaign_id": campaign_id}, headers=acme_staff
            ),
            400,
            "invalid_data",
            message,
        )
    # A vendor cannot attach another seller's promotion to its campaign.
    acme_campaign = ok(
        await client.post(
            CAMPAIGNS, json={"name": "Acme", "campaign_identifier": "acme"}, headers=acme_staff
        )
    )["campaign"]
    error(
        await client.post(
            f"{CAMPAIGNS}/{acme_campaign['id']}/promotions",
            json={"add": [for_bolt["id"]]},
            headers=acme_staff,
        ),
        400,
        "invalid_data",
        f"Promotion with id {for_bolt['id']} was not found",
    )
    # The operator's promotions stay where they were.
    shown = ok(await client.get(f"/admin/promotions/{operator_id}", headers=admin))["promotion"]
    assert shown == operator["promotion"]


async def test_vendor_campaigns(client, app, market):
    admin, acme = market.admin, market.acme
    vendor = await member(client, admin, acme["id"], "staff@acme.test")
    campaign = ok(
        await client.post(
            CAMPAIGNS,
            json={
                "name": "Acme days",
                "campaign_identifier": "acme-days",
                "budget": {"type": "spend", "limit": 20, "currency_code": "usd"},
            },
            headers=vendor,
        )
    )["campaign"]
    assert campaign["seller_id"] == acme["id"]
    assert campaign["budget"]["limit"] == 20
    url = f"{CAMPAIGNS}/{campaign['id']}"
    promotion = ok(
        await client.post(
            PROMOTIONS, json=body("ACME1", campaign_id=campaign["id"]), headers=vendor
        )
    )["promotion"]
    assert promotion["campaign_id"] == campaign["id"]
    inline = ok(
        await client.post(
            PROMOTIONS,
            json=body("ACME2", campaign={"name": "Inline", "campaign_identifier": "acme-inline"}),
            headers=vendor,
        )
    )["promotion"]
    made = ok(await client.get(f"{CAMPAIGNS}/{inline['campaign_id']}", headers=vendor))
    assert made["campaign"]["seller_id"] == acme["id"]
    moved = ok(
        await client.post(
            f"{url}/promotions?fields=id,promotions.code",
            json={"add": [inline["id"]]},
            headers=vendor,
        )
    )["campaign"]
    assert [p["code"] for p in moved["promotions"]] == ["ACME1", "ACME2"]
    updated = ok(await client.post(url, json={"description": "Once a year"}, headers=vendor))[
        "campaign"
    ]
    assert updated["description"] == "Once a year"
    error(
        await client.post(
            CAMPAIGNS,
            json={"name": "x", "campaign_identifier": "acme-days"},
            headers=vendor,
        ),
        422,
        "duplicate_error",
        "Campaign with campaign_identifier acme-days already exists",
    )
    error(
        await client.post(
            CAMPAIGNS,
            json={"name": "x", "campaign_identifier": "x", "seller_id": acme["id"]},
            headers=vendor,
        ),
        400,
        "invalid_data",
        "Invalid request: Unrecognized fields: 'seller_id'",
    )
    assert ok(await client.delete(url, headers=vendor))["deleted"] is True
    shown = ok(await client.get(f"{PROMOTIONS}/{promotion['id']}", headers=vendor))["promotion"]
    assert shown["campaign_id"] is None
    assert await events_of(app, campaign["id"]) == [
        "campaign.created",
        "campaign.updated",
        "campaign.updated",
        "campaign.deleted",
    ]


async def test_vendor_bodies_and_rules_stay_within_the_seller(client, market):
    admin, acme, bolt = market.admin, market.acme, market.bolt
    vendor = await member(client, admin, acme["id"], "staff@acme.test")
    own = await create_product(client, admin, acme["id"])
    theirs = await create_product(client, admin, bolt["id"])
    their_variant = theirs["variants"][0]["id"]
    cases: list[tuple[dict[str, Any], str]] = [
        (body("X", seller_id=acme["id"]), "Invalid request: Unrecognized fields: 'seller_id'"),
        (body("X", funded_by="seller"), "Invalid request: Unrecognized fields: 'funded_by'"),
        (
            body("X", application_method=items_method(rule("items.product.id", theirs["id"]))),
            f"Product with id {theirs['id']} was not found",
        ),
        (
            body(
                "X",
                application_method=items_method(rule("items.product.id", own["id"], theirs["id"])),
            ),
            f"Product with id {theirs['id']} was not found",
        ),
        (
            body("X", application_method=items_method(rule("items.variant_id", their_variant))),
            f"Product variant with id {their_variant} was not found",
        ),
        (
            body("X", application_method=items_method(rule("items.seller.id", acme["id"]))),
            "application_method.target_rules[0].attribute must be one of items.product.id, "
            "items.variant.id",
        ),
        (
            body(
                "X",
                application_method=items_method(
                    rule("shipping_methods.seller_id", acme["id"]), target_type="shipping_methods"
                ),
            ),
            "application_method.target_rules[0].attribute must be one of "
            "shipping_methods.shipping_option_id",
        ),
    ]
    their_option = await _option(client, admin, market, bolt["id"])
    cases.append(
        (
            body(
                "X",
                application_method=items_method(
                    rule("shipping_methods.shipping_option_id", their_option),
                    target_type="shipping_methods",
                ),
            ),
            f"Shipping option with id {their_option} was not found",
        )
    )
    for payload, message in cases:
        error(
            await client.post(PROMOTIONS, json=payload, headers=vendor),
            400,
            "invalid_data",
            message,
        )
    assert ok(await client.get(PROMOTIONS, headers=vendor))["count"] == 0

    promotion = ok(await client.post(PROMOTIONS, json=body("MINE"), headers=vendor))["promotion"]
    url = f"{PROMOTIONS}/{promotion['id']}"
    for payload, message in (
        (
            {"create": [rule("items.product.id", theirs["id"])]},
            f"Product with id {theirs['id']} was not found",
        ),
        (
            {"create": [rule("items.seller_id", bolt["id"])]},
            "create[0].attribute must be one of items.product.id, items.variant.id",
        ),
    ):
        response = await client.post(f"{url}/target-rules/batch", json=payload, headers=vendor)
        error(response, 400, "invalid_data", message)
    error(
        await client.post(url, json={"funded_by": "operator"}, headers=vendor),
        400,
        "invalid_data",
        "Invalid request: Unrecognized fields: 'funded_by'",
    )
    assert ok(await client.get(f"{url}/target-rules", headers=vendor))["rules"] == []


async def _option(client, admin: dict, market, seller_id: str) -> str:
    """A shipping option of the seller, made for the test."""
    payload = {"name": "Standard", "seller_id": seller_id, "amount": 5}
    created = await client.post(
        "/admin/shipping-options",
        json={**payload, "region_id": market.region["id"]},
        headers=admin,
    )
    return ok(created)["shipping_option"]["id"]


async def test_a_sellers_promotion_events_carry_its_seller(client, app, market):
    """The outbox ``seller_id`` (events-and-scale-out.md) routes them to that seller's webhooks."""
    from sqlalchemy import select

    from mercato.events.models import OutboxEvent

    staff = await member(client, market.admin, market.acme["id"], "events@acme.test")
    promotion = ok(await client.post(PROMOTIONS, json=body("ACMEEV"), headers=staff))["promotion"]
    ok(
        await client.post(
            f"{PROMOTIONS}/{promotion['id']}", json={"status": "active"}, headers=staff
        )
    )
    ok(await client.delete(f"{PROMOTIONS}/{promotion['id']}", headers=staff))
    operator = ok(await client.post("/admin/promotions", json=body("OPEV"), headers=market.admin))[
        "promotion"
    ]
    async with app.state.sessionmaker() as session:
        rows = (
            await session.execute(
                select(OutboxEvent.name, OutboxEvent.resource_id, OutboxEvent.seller_id)
                .where(OutboxEvent.name.like("promotion.%"))
                .order_by(OutboxEvent.seq)
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        ("promotion.created", promotion["id"], market.acme["id"]),
        ("promotion.updated", promotion["id"], market.acme["id"]),
        ("promotion.deleted", promotion["id"], market.acme["id"]),
        ("promotion.created", operator["id"], None),
    ]
