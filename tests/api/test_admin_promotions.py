"""Admin promotions (promotions.md, Data, Admin API, Errors): CRUD, rule sets and their batch
routes, list filters, and each error row of an admin body."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from mercato.events.models import OutboxEvent
from tests.api.helpers import create_product, error, ok
from tests.api.test_resources_crud import TIMESTAMP, assert_id

URL = "/admin/promotions"
PROMOTION_KEYS = {
    "id",
    "code",
    "type",
    "is_automatic",
    "is_tax_inclusive",
    "status",
    "campaign_id",
    "seller_id",
    "funded_by",
    "limit",
    "used",
    "application_method",
    "rules",
    "created_at",
    "updated_at",
    "deleted_at",
}


def percent(value: float | int = 10, **method: Any) -> dict[str, Any]:
    return {"type": "percentage", "target_type": "order", "value": value, **method}


def body(code: str = "SUMMER10", **fields: Any) -> dict[str, Any]:
    return {"code": code, "type": "standard", "application_method": percent(), **fields}


async def create(client, admin: dict, code: str = "SUMMER10", **fields: Any) -> dict:
    return ok(await client.post(URL, json=body(code, **fields), headers=admin))["promotion"]


async def refused(client, admin: dict, payload: dict, message: str, status: int = 400) -> None:
    type_ = "invalid_data" if status == 400 else "duplicate_error"
    error(await client.post(URL, json=payload, headers=admin), status, type_, message)


async def events_of(app, resource_id: str) -> list[str]:
    async with app.state.sessionmaker() as session:
        rows = await session.scalars(
            select(OutboxEvent.name)
            .where(OutboxEvent.resource_id == resource_id)
            .order_by(OutboxEvent.created_at, OutboxEvent.id)
        )
        return list(rows)


async def test_promotion_crud(client, app, market):
    admin, region = market.admin, market.region
    promotion = await create(
        client,
        admin,
        "SUMMER10",
        status="active",
        rules=[
            {"attribute": "region.id", "operator": "in", "values": [region["id"]]},
            {"attribute": "item_total", "operator": "gte", "values": "50"},
        ],
    )
    assert_id(promotion["id"], "promo")
    assert set(promotion) == PROMOTION_KEYS
    assert promotion["code"] == "SUMMER10" and promotion["status"] == "active"
    assert (promotion["seller_id"], promotion["funded_by"]) == (None, "operator")
    assert (promotion["limit"], promotion["used"], promotion["deleted_at"]) == (None, 0, None)
    assert promotion["is_automatic"] is False and promotion["is_tax_inclusive"] is False
    assert TIMESTAMP.match(promotion["created_at"])
    method = promotion["application_method"]
    assert_id(method["id"], "proappmet")
    assert method == {
        "id": method["id"],
        "type": "percentage",
        "target_type": "order",
        "allocation": "across",
        "value": 10,
        "currency_code": None,
        "max_quantity": None,
        "apply_to_quantity": None,
        "buy_rules_min_quantity": None,
        "target_rules": [],
        "buy_rules": [],
    }
    rules = promotion["rules"]
    assert [r["attribute"] for r in rules] == ["region.id", "item_total"]
    assert_id(rules[0]["id"], "prorul")
    assert rules[0]["values"] == [{"value": region["id"]}]
    assert rules[1] == {
        "id": rules[1]["id"],
        "attribute": "item_total",
        "operator": "gte",
        "values": [{"value": "50"}],
        "description": None,
    }

    url = f"{URL}/{promotion['id']}"
    assert ok(await client.get(url, headers=admin))["promotion"] == promotion
    updated = ok(
        await client.post(
            url,
            json={
                "code": "SUMMER15",
                "status": "inactive",
                "limit": 100,
                "application_method": {"value": 15.5},
            },
            headers=admin,
        )
    )["promotion"]
    assert (updated["code"], updated["status"], updated["limit"]) == ("SUMMER15", "inactive", 100)
    assert updated["application_method"]["value"] == 15.5
    assert updated["rules"] == rules
    # Back to no limit, and a fixed amount: its currency is required.
    updated = ok(
        await client.post(
            url,
            json={
                "limit": None,
                "application_method": {"type": "fixed", "value": 5.25, "currency_code": "USD"},
            },
            headers=admin,
        )
    )["promotion"]
    assert updated["limit"] is None
    assert updated["application_method"]["currency_code"] == "usd"
    assert updated["application_method"]["value"] == 5.25

    gone = ok(await client.delete(url, headers=admin))
    assert gone == {"id": promotion["id"], "object": "promotion", "deleted": True}
    message = f"Promotion with id {promotion['id']} was not found"
    error(await client.get(url, headers=admin), 404, "not_found", message)
    error(
        await client.post(url, json={"status": "active"}, headers=admin), 404, "not_found", message
    )
    error(await client.delete(url, headers=admin), 404, "not_found", message)
    error(await client.get(f"{url}/rules", headers=admin), 404, "not_found", message)
    assert ok(await client.get(URL, headers=admin))["promotions"] == []
    # A deleted promotion's code is free again.
    await create(client, admin, "summer15")
    assert await events_of(app, promotion["id"]) == [
        "promotion.created",
        "promotion.updated",
        "promotion.updated",
        "promotion.deleted",
    ]


async def test_codes_are_unique_case_insensitively(client, market):
    admin = market.admin
    first = await create(client, admin, "SUMMER10")
    message = "Promotion with code summer10 already exists"
    await refused(client, admin, body("summer10"), message, 422)
    other = await create(client, admin, "WINTER")
    error(
        await client.post(f"{URL}/{other['id']}", json={"code": "Summer10"}, headers=admin),
        422,
        "duplicate_error",
        "Promotion with code Summer10 already exists",
    )
    # Changing the case of its own code is allowed.
    renamed = ok(
        await client.post(f"{URL}/{first['id']}", json={"code": "summer10"}, headers=admin)
    )
    assert renamed["promotion"]["code"] == "summer10"


async def test_items_buyget_and_seller_scoped_promotions(client, market):
    admin, acme, bolt = market.admin, market.acme, market.bolt
    product = await create_product(client, admin, acme["id"])
    variant_id = product["variants"][0]["id"]
    items = await create(
        client,
        admin,
        "ITEMS",
        application_method={
            "type": "fixed",
            "target_type": "items",
            "allocation": "each",
            "max_quantity": 2,
            "value": 3,
            "currency_code": "usd",
            "target_rules": [
                {"attribute": "items.product_id", "operator": "in", "values": [product["id"]]},
                {"attribute": "items.seller_id", "operator": "ne", "values": bolt["id"]},
            ],
        },
    )
    target = items["application_method"]["target_rules"]
    # Aliases are answered in the canonical spelling.
    assert [r["attribute"] for r in target] == ["items.product.id", "items.seller.id"]
    assert items["application_method"]["max_quantity"] == 2

    buyget = await create(
        client,
        admin,
        "B2G1",
        type="buyget",
        application_method={
            "type": "percentage",
            "target_type": "items",
            "allocation": "each",
            "max_quantity": 1,
            "value": 100,
            "apply_to_quantity": 1,
            "buy_rules_min_quantity": 2,
            "target_rules": [
                {"attribute": "items.variant.id", "operator": "eq", "values": variant_id}
            ],
            "buy_rules": [
                {"attribute": "items.product.id", "operator": "eq", "values": [product["id"]]}
            ],
        },
    )
    method = buyget["application_method"]
    assert (method["apply_to_quantity"], method["buy_rules_min_quantity"]) == (1, 2)
    assert [r["attribute"] for r in method["buy_rules"]] == ["items.product.id"]

    scoped = await create(client, admin, "ACME5", seller_id=acme["id"])
    assert (scoped["seller_id"], scoped["funded_by"]) == (acme["id"], "seller")
    co_marketing = await create(client, admin, "ACMEOP", seller_id=acme["id"], funded_by="operator")
    assert co_marketing["funded_by"] == "operator"
    shipping = await create(
        client,
        admin,
        "FREESHIP",
        application_method={
            "type": "percentage",
            "target_type": "shipping_methods",
            "allocation": "each",
            "value": 100,
            "target_rules": [
                {
                    "attribute": "shipping_methods.seller_id",
                    "operator": "in",
                    "values": [acme["id"]],
                }
            ],
        },
    )
    assert shipping["application_method"]["target_rules"][0]["attribute"] == (
        "shipping_methods.seller.id"
    )


async def test_list_filters_search_and_order(client, market):
    admin, acme = market.admin, market.acme
    summer = await create(client, admin, "SUMMER10", status="active")
    auto = await create(client, admin, "AUTO_5", is_automatic=True, status="active")
    seller = await create(client, admin, "ACME-5", seller_id=acme["id"])
    campaign = ok(
        await client.post(
            "/admin/campaigns",
            json={"name": "Summer", "campaign_identifier": "summer"},
            headers=admin,
        )
    )["campaign"]
    ok(
        await client.post(
            f"/admin/campaigns/{campaign['id']}/promotions",
            json={"add": [summer["id"]]},
            headers=admin,
        )
    )

    async def codes(query: str) -> list[str]:
        listed = ok(await client.get(f"{URL}?{query}", headers=admin))
        return [p["code"] for p in listed["promotions"]]

    listed = ok(await client.get(URL, headers=admin))
    assert (listed["count"], listed["offset"], listed["limit"]) == (3, 0, 50)
    assert [p["code"] for p in listed["promotions"]] == ["ACME-5", "AUTO_5", "SUMMER10"]
    assert await codes("order=code") == ["ACME-5", "AUTO_5", "SUMMER10"]
    assert await codes("order=-code") == ["SUMMER10", "AUTO_5", "ACME-5"]
    assert await codes("q=mer") == ["SUMMER10"]
    assert await codes("q=o_") == ["AUTO_5"]  # _ is literal
    assert await codes("code=SUMMER10") == ["SUMMER10"]
    assert await codes(f"id[]={summer['id']}&id[]={auto['id']}&order=created_at") == [
        "SUMMER10",
        "AUTO_5",
    ]
    assert await codes("status=draft") == ["ACME-5"]
    assert await codes("is_automatic=true") == ["AUTO_5"]
    assert await codes("type=buyget") == []
    assert await codes(f"campaign_id={campaign['id']}") == ["SUMMER10"]
    assert await codes(f"seller_id={acme['id']}") == ["ACME-5"]
    assert await codes("funded_by=seller") == ["ACME-5"]
    assert await codes(f"created_at[$gte]={summer['created_at']}&order=updated_at") == [
        "AUTO_5",
        "ACME-5",
        "SUMMER10",
    ]
    assert await codes("updated_at[$lt]=2000-01-01T00:00:00Z") == []
    page = ok(await client.get(f"{URL}?limit=1&offset=1&order=code&fields=code", headers=admin))
    assert page == {
        "promotions": [{"id": auto["id"], "code": "AUTO_5"}],
        "count": 3,
        "offset": 1,
        "limit": 1,
    }
    detail = ok(
        await client.get(
            f"{URL}/{summer['id']}?fields=code,*campaign,campaign.budget.*", headers=admin
        )
    )["promotion"]
    assert detail["campaign"]["id"] == campaign["id"] and detail["campaign"]["budget"] is None
    assert seller["seller_id"] == acme["id"]
    for query, message in (
        ("order=status", "Order field status is not valid"),
        ("status=open", "status must be one of: active, draft, inactive"),
        ("foo=1", "Invalid request: Unrecognized fields: 'foo'"),
        ("fields=secret", "Requested fields [secret] are not valid"),
    ):
        error(await client.get(f"{URL}?{query}", headers=admin), 400, "invalid_data", message)


async def test_rule_batches(client, app, market):
    admin, region, acme = market.admin, market.region, market.acme
    product = await create_product(client, admin, acme["id"])
    promotion = await create(
        client,
        admin,
        "BATCH",
        rules=[{"attribute": "region.id", "operator": "eq", "values": region["id"]}],
    )
    url = f"{URL}/{promotion['id']}"
    first = promotion["rules"][0]
    batch = ok(
        await client.post(
            f"{url}/rules/batch",
            json={
                "create": [
                    {"attribute": "currency_code", "operator": "in", "values": ["USD", "eur"]}
                ],
                "update": [{"id": first["id"], "operator": "ne", "description": "not here"}],
            },
            headers=admin,
        )
    )
    assert batch["deleted"] == {"ids": [], "object": "promotion-rule", "deleted": True}
    assert [r["values"] for r in batch["created"]] == [[{"value": "usd"}, {"value": "eur"}]]
    assert batch["updated"] == [
        {
            "id": first["id"],
            "attribute": "region.id",
            "operator": "ne",
            "values": [{"value": region["id"]}],
            "description": "not here",
        }
    ]
    listed = ok(await client.get(f"{url}/rules", headers=admin))["rules"]
    assert [r["id"] for r in listed] == [first["id"], batch["created"][0]["id"]]
    removed = ok(
        await client.post(f"{url}/rules/batch", json={"delete": [first["id"]]}, headers=admin)
    )
    assert removed == {
        "created": [],
        "updated": [],
        "deleted": {"ids": [first["id"]], "object": "promotion-rule", "deleted": True},
    }
    assert len(ok(await client.get(f"{url}/rules", headers=admin))["rules"]) == 1

    target = ok(
        await client.post(
            f"{url}/target-rules/batch",
            json={
                "create": [
                    {"attribute": "items.product_id", "operator": "in", "values": [product["id"]]}
                ]
            },
            headers=admin,
        )
    )["created"]
    assert target[0]["attribute"] == "items.product.id"
    assert ok(await client.get(f"{url}/target-rules", headers=admin))["rules"] == target
    assert ok(await client.get(f"{url}/buy-rules", headers=admin))["rules"] == []
    shown = ok(await client.get(url, headers=admin))["promotion"]
    assert shown["application_method"]["target_rules"] == target

    # All or nothing: a bad create leaves the delete undone.
    error(
        await client.post(
            f"{url}/target-rules/batch",
            json={
                "delete": [target[0]["id"]],
                "create": [{"attribute": "items.product.id", "operator": "in", "values": "prod_x"}],
            },
            headers=admin,
        ),
        400,
        "invalid_data",
        "Product with id prod_x was not found",
    )
    assert ok(await client.get(f"{url}/target-rules", headers=admin))["rules"] == target
    for path, payload, message in (
        (
            "rules/batch",
            {"delete": ["prorul_missing"]},
            "Promotion rule with id prorul_missing was not found",
        ),
        (
            "rules/batch",
            {"update": [{"id": target[0]["id"], "operator": "ne"}]},
            f"Promotion rule with id {target[0]['id']} was not found",
        ),
        (
            "buy-rules/batch",
            {"create": [{"attribute": "items.product.id", "operator": "in", "values": "x"}]},
            "buy_rules is not allowed for standard promotions",
        ),
        (
            "rules/batch",
            {"create": [{"attribute": "cart.total", "operator": "eq", "values": "1"}]},
            "create[0].attribute must be one of customer.id, customer.groups.id, region.id, "
            "sales_channel_id, currency_code, shipping_address.country_code, item_total",
        ),
        (
            "rules/batch",
            {"update": [{"id": listed[1]["id"], "operator": "gt"}]},
            "update[0].operator must be one of eq, ne, in for attribute currency_code",
        ),
        ("rules/batch", {"create": [{"attribute": "x"}]}, None),
        ("rules/batch", {"remove": []}, "Invalid request: Unrecognized fields: 'remove'"),
    ):
        response = await client.post(f"{url}/{path}", json=payload, headers=admin)
        error(response, 400, "invalid_data", message)
    error(
        await client.post(f"{URL}/promo_x/rules/batch", json={}, headers=admin),
        404,
        "not_found",
        "Promotion with id promo_x was not found",
    )
    assert (await events_of(app, promotion["id"])).count("promotion.updated") == 3


def _method(**overrides: Any) -> dict[str, Any]:
    return {
        "type": "fixed",
        "target_type": "items",
        "allocation": "across",
        "value": 5,
        "currency_code": "usd",
        **overrides,
    }


INVALID_BODIES: list[tuple[dict[str, Any], str]] = [
    ({"code": "SUMMER 10"}, "code must be 1 to 64 letters, digits, '-' or '_'"),
    ({"code": ""}, "code must be 1 to 64 letters, digits, '-' or '_'"),
    ({"code": "X" * 65}, "code must be 1 to 64 letters, digits, '-' or '_'"),
    ({"type": "bogo"}, "type must be one of standard, buyget"),
    ({"status": "paused"}, "status must be one of draft, active, inactive"),
    ({"funded_by": "both"}, "funded_by must be one of operator, seller"),
    ({"funded_by": "seller"}, "funded_by seller requires seller_id"),
    ({"seller_id": "sel_x"}, "Seller with id sel_x was not found"),
    ({"limit": 0}, "limit must be an integer >= 1"),
    ({"limit": 2.5}, None),
    ({"is_automatic": True, "limit": 5}, "Automatic promotions cannot have a usage limit"),
    ({"foo": 1}, "Invalid request: Unrecognized fields: 'foo'"),
    ({"is_automatic": "yes"}, None),
    (
        {"application_method": _method(type="amount")},
        "application_method.type must be one of fixed, percentage",
    ),
    (
        {"application_method": _method(target_type="cart")},
        "application_method.target_type must be one of items, shipping_methods, order",
    ),
    (
        {"application_method": _method(allocation="once")},
        "application_method.allocation once is not supported",
    ),
    (
        {"application_method": _method(allocation="some")},
        "application_method.allocation must be one of each, across",
    ),
    (
        {"application_method": _method(target_type="order", allocation="each")},
        "application_method.allocation must be across when target_type is order",
    ),
    (
        {"application_method": _method(allocation=None)},
        "application_method.allocation is required when target_type is items",
    ),
    *(
        (
            {"application_method": percent(value)},
            "application_method.value must be a percentage greater than 0 and at most 100",
        )
        for value in (0, -5, 100.01, 10.555)
    ),
    *(
        (
            {"application_method": _method(value=value, currency_code=currency)},
            f"application_method.value must be a positive amount in {currency} with at most "
            f"{digits} decimals",
        )
        for value, currency, digits in ((0, "usd", 2), (1.005, "usd", 2), (1.5, "jpy", 0))
    ),
    (
        {"application_method": _method(currency_code=None)},
        "application_method.currency_code is required for fixed promotions",
    ),
    (
        {"application_method": _method(currency_code="xyz")},
        "application_method.currency_code xyz is not a currency",
    ),
    (
        {"application_method": _method(allocation="each")},
        "application_method.max_quantity is required when allocation is each",
    ),
    (
        {"application_method": _method(max_quantity=2)},
        "application_method.max_quantity is not allowed when allocation is across",
    ),
    (
        {"application_method": _method(allocation="each", max_quantity=0)},
        "application_method.max_quantity must be an integer >= 1",
    ),
    (
        {"application_method": _method(apply_to_quantity=1)},
        "apply_to_quantity is not allowed for standard promotions",
    ),
    (
        {"type": "buyget", "application_method": _method(buy_rules_min_quantity=1)},
        "apply_to_quantity is required for buyget promotions",
    ),
    (
        {"type": "buyget", "application_method": _method(apply_to_quantity=1)},
        "buy_rules_min_quantity is required for buyget promotions",
    ),
    (
        {
            "type": "buyget",
            "application_method": _method(apply_to_quantity=1, buy_rules_min_quantity=2),
        },
        "buy_rules is required for buyget promotions",
    ),
    (
        {
            "application_method": _method(
                buy_rules=[{"attribute": "items.product.id", "operator": "eq", "values": "p"}]
            )
        },
        "buy_rules is not allowed for standard promotions",
    ),
    (
        {"rules": [{"attribute": "cart.id", "operator": "eq", "values": "x"}]},
        "rules[0].attribute must be one of customer.id, customer.groups.id, region.id, "
        "sales_channel_id, currency_code, shipping_address.country_code, item_total",
    ),
    (
        {"rules": [{"attribute": "item_total", "operator": "in", "values": ["1"]}]},
        "rules[0].operator must be one of eq, gt, gte, lt, lte for attribute item_total",
    ),
    (
        {"rules": [{"attribute": "region.id", "operator": "gt", "values": ["1"]}]},
        "rules[0].operator must be one of eq, ne, in for attribute region.id",
    ),
    (
        {"rules": [{"attribute": "region.id", "operator": "in", "values": []}]},
        "rules[0].values must contain at least one non-empty value",
    ),
    (
        {"rules": [{"attribute": "region.id", "operator": "eq", "values": ["a", "b"]}]},
        "rules[0].values must contain exactly one value for operator eq",
    ),
    (
        {"rules": [{"attribute": "item_total", "operator": "gt", "values": ["1", "2"]}]},
        "rules[0].values must contain exactly one number",
    ),
    (
        {"rules": [{"attribute": "region.id", "operator": "in", "values": [""]}]},
        "rules[0].values must contain at least one non-empty value",
    ),
    (
        {"rules": [{"attribute": "region.id", "operator": "in", "values": 5}]},
        None,
    ),
    (
        {"rules": [{"attribute": "item_total", "operator": "gte", "values": "fifty"}]},
        "rules[0].values must be a number, not 'fifty'",
    ),
    (
        {"rules": [{"attribute": "region.id", "operator": "in", "values": ["reg_x"]}]},
        "Region with id reg_x was not found",
    ),
    (
        {"rules": [{"attribute": "sales_channel_id", "operator": "in", "values": ["sc_x"]}]},
        "Sales channel with id sc_x was not found",
    ),
    (
        {"rules": [{"attribute": "customer.id", "operator": "in", "values": ["cus_x"]}]},
        "Customer with id cus_x was not found",
    ),
    (
        {"rules": [{"attribute": "customer.groups.id", "operator": "in", "values": "cusgroup_x"}]},
        "Customer group with id cusgroup_x was not found",
    ),
    (
        {"rules": [{"attribute": "currency_code", "operator": "eq", "values": "xyz"}]},
        "rules[0].values: xyz is not a currency code",
    ),
    (
        {
            "application_method": _method(
                target_rules=[{"attribute": "items.product.id", "operator": "in", "values": "p"}]
            )
        },
        "Product with id p was not found",
    ),
    (
        {
            "application_method": _method(
                target_rules=[{"attribute": "items.variant_id", "operator": "in", "values": "v"}]
            )
        },
        "Product variant with id v was not found",
    ),
    (
        {
            "application_method": _method(
                target_rules=[{"attribute": "items.seller.id", "operator": "in", "values": "s"}]
            )
        },
        "Seller with id s was not found",
    ),
    (
        {
            "application_method": _method(
                target_type="shipping_methods",
                target_rules=[{"attribute": "items.product.id", "operator": "in", "values": "p"}],
            )
        },
        "application_method.target_rules[0].attribute must be one of "
        "shipping_methods.shipping_option_id, shipping_methods.seller.id",
    ),
    (
        {
            "application_method": _method(
                target_type="shipping_methods",
                target_rules=[
                    {
                        "attribute": "shipping_methods.shipping_option_id",
                        "operator": "in",
                        "values": "so_x",
                    }
                ],
            )
        },
        "Shipping option with id so_x was not found",
    ),
    (
        {"campaign_id": "procamp_x"},
        "Campaign with id procamp_x was not found",
    ),
    (
        {"campaign_id": "procamp_x", "campaign": {"name": "S", "campaign_identifier": "s"}},
        "Provide campaign or campaign_id, not both",
    ),
]


@pytest.mark.parametrize(("fields", "message"), INVALID_BODIES)
async def test_invalid_promotion_bodies(client, market, fields, message):
    payload = {**body("SUMMER10"), **fields}
    error(await client.post(URL, json=payload, headers=market.admin), 400, "invalid_data", message)
    assert ok(await client.get(URL, headers=market.admin))["count"] == 0


async def test_invalid_updates(client, market):
    admin = market.admin
    promotion = await create(
        client,
        admin,
        "ITEMS",
        application_method={
            "type": "percentage",
            "target_type": "items",
            "allocation": "across",
            "value": 10,
            "target_rules": [
                {"attribute": "items.seller.id", "operator": "in", "values": market.acme["id"]}
            ],
        },
    )
    url = f"{URL}/{promotion['id']}"
    for payload, message in (
        ({"code": None}, "code must be 1 to 64 letters, digits, '-' or '_'"),
        ({"status": None}, "status must be one of draft, active, inactive"),
        ({"is_automatic": None}, "Invalid request: is_automatic: must not be null"),
        ({"is_automatic": True, "limit": 3}, "Automatic promotions cannot have a usage limit"),
        ({"seller_id": market.acme["id"]}, "Invalid request: Unrecognized fields: 'seller_id'"),
        ({"type": "buyget"}, "Invalid request: Unrecognized fields: 'type'"),
        (
            {"application_method": {"target_rules": []}},
            "Invalid request: Unrecognized fields: 'application_method.target_rules'",
        ),
        (
            {"application_method": {"target_type": "shipping_methods"}},
            "application_method.target_rules[0].attribute must be one of "
            "shipping_methods.shipping_option_id, shipping_methods.seller.id",
        ),
        (
            {"application_method": {"type": "fixed"}},
            "application_method.currency_code is required for fixed promotions",
        ),
        ({"campaign_id": "procamp_x"}, "Campaign with id procamp_x was not found"),
    ):
        error(await client.post(url, json=payload, headers=admin), 400, "invalid_data", message)
    assert ok(await client.get(url, headers=admin))["promotion"] == promotion


async def test_promotion_list_statements_do_not_grow_with_the_page(
    client, market, count_statements
):
    admin = market.admin
    campaign = ok(
        await client.post(
            "/admin/campaigns",
            json={
                "name": "Big",
                "campaign_identifier": "big",
                "budget": {"type": "spend", "limit": 1000, "currency_code": "usd"},
            },
            headers=admin,
        )
    )["campaign"]
    for i in range(12):
        await create(
            client,
            admin,
            f"CODE{i}",
            campaign_id=campaign["id"],
            rules=[{"attribute": "currency_code", "operator": "eq", "values": "usd"}],
        )
    url = f"{URL}?fields=*application_method,*rules,*campaign,campaign.budget.*"

    async def statements(limit: int) -> tuple[int, dict]:
        async with count_statements() as counter:
            listed = ok(await client.get(f"{url}&limit={limit}", headers=admin))
        return counter.count, listed

    small, two = await statements(2)
    large, twelve = await statements(12)
    assert len(two["promotions"]) == 2 and len(twelve["promotions"]) == 12
    assert all(p["campaign"]["budget"]["limit"] == 1000 for p in twelve["promotions"])
    assert all(len(p["rules"]) == 1 for p in twelve["promotions"])
    assert small == large, (small, large)


async def test_rules_referencing_live_ids_and_seller_scope(client, app, market):
    """Customer groups, customers and channels are checked like regions; a seller-scoped
    promotion (made by an admin too) takes only its seller's catalogue in its rules."""
    from mercato.customers.models import CustomerGroup

    admin, acme, bolt = market.admin, market.acme, market.bolt
    async with app.state.sessionmaker() as session, session.begin():
        group = CustomerGroup(name="VIP")
        session.add(group)
    created = await create(
        client,
        admin,
        "VIP",
        rules=[
            {"attribute": "customer.groups.id", "operator": "in", "values": [group.id]},
            {"attribute": "sales_channel_id", "operator": "eq", "values": market.channel_id},
            {"attribute": "shipping_address.country_code", "operator": "in", "values": ["DE"]},
        ],
    )
    assert [r["values"] for r in created["rules"]] == [
        [{"value": group.id}],
        [{"value": market.channel_id}],
        [{"value": "de"}],
    ]
    theirs = await create_product(client, admin, bolt["id"])
    method = {
        "type": "percentage",
        "target_type": "items",
        "allocation": "across",
        "value": 10,
        "target_rules": [
            {"attribute": "items.product.id", "operator": "in", "values": [theirs["id"]]}
        ],
    }
    await refused(
        client,
        admin,
        body("ACME1", seller_id=acme["id"], application_method=method),
        f"Product with id {theirs['id']} was not found",
    )
    scoped = await create(client, admin, "BOLT1", seller_id=bolt["id"], application_method=method)
    assert scoped["application_method"]["target_rules"][0]["values"] == [{"value": theirs["id"]}]
    # A deleted product is gone for new rules too.
    ok(await client.delete(f"/admin/products/{theirs['id']}", headers=admin))
    await refused(
        client,
        admin,
        body("BOLT2", application_method=method),
        f"Product with id {theirs['id']} was not found",
    )
    error(
        await client.post(
            f"{URL}/{scoped['id']}", json={"application_method": None}, headers=admin
        ),
        400,
        "invalid_data",
        "Invalid request: application_method: must not be null",
    )


async def test_concurrent_creates_of_one_code_give_one_promotion(client, market):
    """The check and the unique index agree: the loser of a race is a 422, never a 500."""
    import asyncio

    responses = await asyncio.gather(
        *(
            client.post(URL, json=body(code), headers=market.admin)
            for code in ("RACE", "race", "Race", "RACE", "rAce", "RACE")
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 422, 422, 422, 422, 422], [r.text for r in responses]
    for response in responses:
        if response.status_code == 422:
            assert response.json()["message"].endswith("already exists")
    assert ok(await client.get(URL, headers=market.admin))["count"] == 1
