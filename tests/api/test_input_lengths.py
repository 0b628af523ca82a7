"""Length limits of request text (api-conventions.md, "Request validation"): every string field of
every body has a documented ``maxLength``; longer text is a 400 naming the field, never the 500
PostgreSQL's btree row limit (~2,700 bytes) used to give for uniquely indexed columns."""

from __future__ import annotations

import random
import string
from typing import Any

import pytest

from tests.api.helpers import (
    create_product,
    create_seller,
    error,
    ok,
)

# Incompressible: PostgreSQL compresses index entries, so repeated characters would fit.
LONG = "".join(random.Random(14).choices(string.ascii_lowercase + string.digits, k=3000))


def _request_body_schemas(openapi: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(operation, schema)`` of every JSON request body, ``$ref``s left to resolve."""
    found = []
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                found.append((f"{method.upper()} {path}", content["application/json"]["schema"]))
    return found


def _strings_without_max_length(
    schema: dict[str, Any], components: dict[str, Any], where: str, seen: set[str]
) -> list[str]:
    """Every string in ``schema`` (through refs, objects, arrays, unions) lacking ``maxLength``."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return []
        seen.add(name)
        return _strings_without_max_length(components[name], components, name, seen)
    missing = []
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            missing += _strings_without_max_length(option, components, where, seen)
    bounded = {"maxLength", "enum", "const"} & schema.keys()
    if schema.get("type") == "string" and not bounded:
        missing.append(where)
    for name, prop in schema.get("properties", {}).items():
        missing += _strings_without_max_length(prop, components, f"{where}.{name}", seen)
    if isinstance(schema.get("items"), dict):
        missing += _strings_without_max_length(schema["items"], components, f"{where}[]", seen)
    return missing


async def test_every_string_of_every_request_body_declares_a_max_length(client):
    openapi = ok(await client.get("/openapi.json"))
    components = openapi["components"]["schemas"]
    bodies = _request_body_schemas(openapi)
    assert len(bodies) > 30, "every command route documents its body"
    missing: list[str] = []
    for _, schema in bodies:
        missing += _strings_without_max_length(schema, components, "body", set())
    assert not sorted(set(missing))


async def test_documented_limits_by_kind_of_field(client):
    """names, titles, handles, skus 255; emails 254; descriptions and notes 4,096."""
    components = ok(await client.get("/openapi.json"))["components"]["schemas"]

    def limit(model: str, field: str) -> int:
        prop = components[model]["properties"][field]
        options = prop.get("anyOf", [prop])
        return next(o["maxLength"] for o in options if o.get("type") == "string")

    assert limit("CreateSeller", "name") == 255
    assert limit("CreateSeller", "handle") == 255
    assert limit("CreateSeller", "email") == 254
    assert limit("CreateSeller", "description") == 4096
    assert limit("CreateProduct", "title") == 255
    assert limit("CreateVariant", "sku") == 255
    assert limit("EmailPassword", "email") == 254
    assert limit("RefundAmount", "note") == 4096


async def test_unauthenticated_registration_with_a_huge_email_is_a_400(client):
    response = await client.post(
        "/auth/customer/emailpass/register",
        json={"email": f"{LONG}@shop.test", "password": "supersecret"},
    )
    error(
        response,
        400,
        "invalid_data",
        "Invalid request: email: String should have at most 254 characters",
    )


async def test_a_huge_seller_name_or_product_title_is_a_400_naming_the_field(client, admin_headers):
    response = await client.post("/admin/sellers", json={"name": LONG}, headers=admin_headers)
    assert error(response, 400, "invalid_data").startswith("Invalid request: name:")
    seller = await create_seller(client, admin_headers)
    response = await client.post(
        "/admin/products",
        json={"title": LONG, "seller_id": seller["id"]},
        headers=admin_headers,
    )
    assert error(response, 400, "invalid_data").startswith("Invalid request: title:")
    response = await client.post(
        f"/admin/sellers/{seller['id']}", json={"handle": "a" * 256}, headers=admin_headers
    )
    assert error(response, 400, "invalid_data").startswith("Invalid request: handle:")
    assert ok(await client.get("/admin/products", headers=admin_headers))["count"] == 0


async def test_huge_user_and_member_emails_are_400s(client, admin_headers):
    response = await client.post(
        "/admin/users",
        json={"email": f"{LONG}@shop.test", "password": "supersecret"},
        headers=admin_headers,
    )
    assert error(response, 400, "invalid_data").startswith("Invalid request: email:")
    seller = await create_seller(client, admin_headers)
    response = await client.post(
        f"/admin/sellers/{seller['id']}/members",
        json={"email": f"{LONG}@shop.test", "password": "supersecret"},
        headers=admin_headers,
    )
    assert error(response, 400, "invalid_data").startswith("Invalid request: email:")


async def test_text_at_the_limit_is_accepted(client, admin_headers):
    name = "N" * 255
    seller = await create_seller(client, admin_headers, name, description="d" * 4096)
    assert seller["name"] == name
    assert len(seller["handle"]) <= 255
    response = await client.post("/admin/sellers", json={"name": "N" * 256}, headers=admin_headers)
    error(
        response,
        400,
        "invalid_data",
        "Invalid request: name: String should have at most 255 characters",
    )
    response = await client.post(
        "/admin/sellers", json={"name": "Ok", "description": "d" * 4097}, headers=admin_headers
    )
    assert error(response, 400, "invalid_data").startswith("Invalid request: description:")


async def test_nested_text_is_bounded_too(client, admin_headers, store_headers):
    seller = await create_seller(client, admin_headers)
    response = await client.post(
        "/admin/products",
        json={
            "title": "Tea",
            "seller_id": seller["id"],
            "variants": [{"title": "100 g", "sku": LONG, "prices": []}],
        },
        headers=admin_headers,
    )
    assert error(response, 400, "invalid_data").startswith("Invalid request: variants.0.sku:")
    response = await client.post(
        "/store/carts",
        json={"shipping_address": {"address_1": LONG}},
        headers=store_headers,
    )
    assert error(response, 400, "invalid_data").startswith(
        "Invalid request: shipping_address.address_1:"
    )


async def test_names_titles_emails_and_handles_are_trimmed(client, admin_headers):
    seller = await create_seller(
        client, admin_headers, "  Tea Corner \n", email="  hi@tea.test ", handle=" tea-corner "
    )
    assert (seller["name"], seller["email"], seller["handle"]) == (
        "Tea Corner",
        "hi@tea.test",
        "tea-corner",
    )
    product = await create_product(client, admin_headers, seller["id"], title="\tSencha  ")
    assert (product["title"], product["handle"]) == ("Sencha", "sencha")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/admin/sellers", {"name": "   "}, "name"),
        ("/admin/sellers", {"name": "Tea", "handle": "  "}, "handle"),
        ("/admin/sales-channels", {"name": " "}, "name"),
        ("/admin/regions", {"name": "\n", "currency_code": "usd"}, "name"),
        ("/admin/api-keys", {"title": "  ", "type": "secret"}, "title"),
    ],
)
async def test_a_blank_name_title_or_handle_is_a_400(client, admin_headers, path, body, field):
    response = await client.post(path, json=body, headers=admin_headers)
    assert error(response, 400, "invalid_data").startswith(f"Invalid request: {field}:")


async def test_a_blank_email_is_a_400(client):
    response = await client.post(
        "/auth/customer/emailpass/register", json={"email": "   ", "password": "supersecret"}
    )
    assert error(response, 400, "invalid_data").startswith("Invalid request: email:")


# --- query strings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        {"q": "x" * 10_000},
        {"handle": "x" * 10_000},
        {"id": "sel_" + "x" * 10_000},
        {"id[]": ["sel_1", "x" * 10_000]},
    ],
)
async def test_huge_query_text_is_a_400_not_a_500(client, admin_headers, query):
    await create_seller(client, admin_headers)
    response = await client.get("/admin/sellers", params=query, headers=admin_headers)
    name = next(iter(query)).removesuffix("[]")
    assert error(response, 400, "invalid_data").startswith(f"{name} must be at most"), query


async def test_query_text_is_bounded_on_every_audience(client, admin_headers, store_headers):
    seller = await create_seller(client, admin_headers)
    await create_product(client, admin_headers, seller["id"])
    response = await client.get(
        "/store/products", params={"handle": "x" * 10_000}, headers=store_headers
    )
    error(response, 400, "invalid_data")
    response = await client.get("/admin/customers", params={"q": "é" * 3000}, headers=admin_headers)
    error(response, 400, "invalid_data")
    response = await client.get("/admin/customers", params={"q": "é" * 255}, headers=admin_headers)
    assert ok(response)["count"] == 0
