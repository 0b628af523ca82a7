"""Strict validation, the ``qs`` query forms, list conventions, money precision and ``fields``."""

from __future__ import annotations

from urllib.parse import quote

from mercato.sales_channels.models import SalesChannel
from tests.api.helpers import (
    create_product,
    create_seller,
    error,
    ok,
    variant,
)

# --- bodies ------------------------------------------------------------------------------------


async def test_unknown_body_fields_are_rejected(client, admin_headers):
    response = await client.post(
        "/admin/sales-channels", json={"name": "Web", "foo": 1}, headers=admin_headers
    )
    error(response, 400, "invalid_data", "Invalid request: Unrecognized fields: 'foo'")
    response = await client.post(
        "/admin/sales-channels", json={"name": "Web", "foo": 1, "bar": 2}, headers=admin_headers
    )
    error(response, 400, "invalid_data", "Invalid request: Unrecognized fields: 'foo', 'bar'")
    seller = await create_seller(client, admin_headers)
    response = await client.post(
        "/admin/products",
        json={
            "title": "X",
            "seller_id": seller["id"],
            "variants": [{**variant(), "colour": "red"}],
        },
        headers=admin_headers,
    )
    error(
        response, 400, "invalid_data", "Invalid request: Unrecognized fields: 'variants.0.colour'"
    )
    assert ok(await client.get("/admin/sales-channels", headers=admin_headers))["count"] == 0


async def test_wrong_types_name_the_field(client, admin_headers):
    response = await client.post("/admin/sales-channels", json={"name": 5}, headers=admin_headers)
    message = error(response, 400, "invalid_data")
    assert message.startswith("Invalid request: name:"), message
    response = await client.post(
        "/admin/sales-channels", json={"name": "Web", "is_disabled": "yes"}, headers=admin_headers
    )
    assert "is_disabled" in error(response, 400, "invalid_data")
    seller = await create_seller(client, admin_headers)
    response = await client.post(
        "/admin/products",
        json={
            "title": "X",
            "seller_id": seller["id"],
            "variants": [variant(inventory_quantity="3")],
        },
        headers=admin_headers,
    )
    assert "variants.0.inventory_quantity" in error(response, 400, "invalid_data")
    response = await client.post(
        "/admin/products",
        json={"title": "X", "seller_id": seller["id"], "variants": [variant(amount="10")]},
        headers=admin_headers,
    )
    assert "variants.0.prices.0.amount" in error(response, 400, "invalid_data")
    response = await client.post(
        "/admin/products",
        json={"title": "X", "seller_id": seller["id"], "variants": [variant(amount=True)]},
        headers=admin_headers,
    )
    assert "amount" in error(response, 400, "invalid_data")
    response = await client.post(
        "/admin/products",
        json={"title": "X", "seller_id": seller["id"], "variants": [variant(currency="zzz")]},
        headers=admin_headers,
    )
    assert "currency_code" in error(response, 400, "invalid_data")


async def test_missing_and_malformed_bodies(client, admin_headers):
    response = await client.post("/admin/sales-channels", json={}, headers=admin_headers)
    assert "name" in error(response, 400, "invalid_data")
    response = await client.post(
        "/admin/sales-channels",
        content=b"{not json",
        headers={**admin_headers, "content-type": "application/json"},
    )
    error(response, 400, "invalid_data")
    response = await client.post("/admin/sales-channels", headers=admin_headers)
    error(response, 400, "invalid_data")
    response = await client.post("/admin/sales-channels", json=[1], headers=admin_headers)
    error(response, 400, "invalid_data")


async def test_money_precision_follows_the_currency_exponent(client, admin_headers):
    seller = await create_seller(client, admin_headers)

    async def create(amount, currency):
        return await client.post(
            "/admin/products",
            json={
                "title": f"P {amount} {currency}",
                "seller_id": seller["id"],
                "variants": [variant(amount=amount, currency=currency)],
            },
            headers=admin_headers,
        )

    for amount, currency in [(10.999, "usd"), (10.5, "jpy"), (1.2345, "kwd"), (0.001, "eur")]:
        message = error(await create(amount, currency), 400, "invalid_data")
        assert message == (
            f"Invalid request: variants.0.prices.0.amount: {amount} has more decimals than {currency} "
            f"allows ({ {'jpy': 0, 'kwd': 3}.get(currency, 2) })"
        ), message
    message = error(await create(1e20, "usd"), 400, "invalid_data")
    assert message.startswith("Invalid request: variants.0.prices.0.amount: must be at most")
    for amount, currency in [
        (10, "jpy"),
        (1.234, "kwd"),
        (10.99, "usd"),
        (0.1, "usd"),
        (1e2, "usd"),
    ]:
        product = ok(await create(amount, currency))["product"]
        assert product["variants"][0]["prices"][0]["amount"] == amount
    # Values that accumulate float error in naive code round-trip exactly.
    product = ok(await create(0.07, "usd"))["product"]
    assert product["variants"][0]["prices"][0]["amount"] == 0.07
    assert ok(await client.get("/admin/products", headers=admin_headers))["count"] == 6


# --- query strings -----------------------------------------------------------------------------


async def test_unknown_query_parameters_and_operators_are_rejected(client, admin_headers):
    response = await client.get("/admin/sellers?foo=1", headers=admin_headers)
    error(response, 400, "invalid_data", "Invalid request: Unrecognized fields: 'foo'")
    response = await client.get("/admin/sellers?handle[$gt]=a", headers=admin_headers)
    message = error(response, 400, "invalid_data")
    assert "$gt" in message and "handle" in message
    response = await client.get("/admin/sellers?created_at[$like]=x", headers=admin_headers)
    assert "$like" in error(response, 400, "invalid_data")
    response = await client.get("/admin/sellers?created_at[$gte]=yesterday", headers=admin_headers)
    assert "created_at" in error(response, 400, "invalid_data")
    response = await client.get("/admin/sellers?status=closed", headers=admin_headers)
    assert "status" in error(response, 400, "invalid_data")
    # Retrieve routes accept only ``fields``.
    seller = await create_seller(client, admin_headers)
    response = await client.get(f"/admin/sellers/{seller['id']}?limit=1", headers=admin_headers)
    error(response, 400, "invalid_data", "Invalid request: Unrecognized fields: 'limit'")
    response = await client.get("/admin/sellers?q[$eq]=x", headers=admin_headers)
    assert "q" in error(response, 400, "invalid_data")


async def test_limit_offset_and_order_are_validated(client, admin_headers):
    for query, message in [
        ("limit=abc", "limit must be an integer >= 0"),
        ("limit=-1", "limit must be an integer >= 0"),
        ("limit=1.5", "limit must be an integer >= 0"),
        ("limit=", "limit must be an integer >= 0"),
        ("limit=%C2%B2", "limit must be an integer >= 0"),  # a superscript two is not a number
        ("limit=%EF%BC%91", "limit must be an integer >= 0"),  # nor is a full-width one
        ("limit=1001", "limit must be an integer <= 1000"),
        ("limit=99999999999999999999999", "limit must be an integer <= 1000"),
        ("limit=1&limit=2", "limit must be an integer >= 0"),
        ("offset=-5", "offset must be an integer >= 0"),
        ("offset=99999999999999999999999", "offset must be an integer <= 9223372036854775807"),
        ("order=bogus", "Order field bogus is not valid"),
        ("order=-bogus", "Order field bogus is not valid"),
        ("order=email", "Order field email is not valid"),
    ]:
        response = await client.get(f"/admin/sellers?{query}", headers=admin_headers)
        error(response, 400, "invalid_data", message)
    body = ok(await client.get("/admin/sellers?limit=1000&offset=0", headers=admin_headers))
    assert (body["limit"], body["offset"], body["count"]) == (1000, 0, 0)
    assert body["sellers"] == []


async def test_list_query_forms(client, admin_headers):
    a = await create_seller(client, admin_headers, "Alpha")
    b = await create_seller(client, admin_headers, "Beta")
    await create_seller(client, admin_headers, "Gamma")
    expected = sorted([a["id"], b["id"]])
    for query in (
        f"id={a['id']}&id={b['id']}",
        f"id[]={a['id']}&id[]={b['id']}",
        f"id[0]={a['id']}&id[1]={b['id']}",
        f"id[$in][]={a['id']}&id[$in][]={b['id']}",
        f"id%5B%5D={a['id']}&id%5B%5D={b['id']}",
        "handle[$nin][]=gamma",
        "handle[$ne]=gamma",
    ):
        body = ok(await client.get(f"/admin/sellers?{query}&order=name", headers=admin_headers))
        assert sorted(s["id"] for s in body["sellers"]) == expected, query
        assert body["count"] == 2
    single = ok(await client.get(f"/admin/sellers?id={a['id']}", headers=admin_headers))
    assert [s["id"] for s in single["sellers"]] == [a["id"]]


async def test_date_operators(client, admin_headers):
    first = await create_seller(client, admin_headers, "First")
    second = await create_seller(client, admin_headers, "Second")
    third = await create_seller(client, admin_headers, "Third")
    start, end = quote(second["created_at"]), quote(third["created_at"])
    body = ok(
        await client.get(
            f"/admin/sellers?created_at[$gte]={start}&created_at[$lt]={end}", headers=admin_headers
        )
    )
    assert [s["id"] for s in body["sellers"]] == [second["id"]]
    body = ok(await client.get(f"/admin/sellers?created_at[$lt]={start}", headers=admin_headers))
    assert [s["id"] for s in body["sellers"]] == [first["id"]]
    body = ok(
        await client.get(
            "/admin/sellers?created_at[$gt]=2000-01-01T00:00:00Z&order=created_at",
            headers=admin_headers,
        )
    )
    assert [s["id"] for s in body["sellers"]] == [first["id"], second["id"], third["id"]]
    body = ok(
        await client.get(
            "/admin/sellers?created_at[$lte]=2000-01-01T00:00:00.000Z", headers=admin_headers
        )
    )
    assert body["count"] == 0
    response = await client.get(
        "/admin/sellers?created_at[$gt]=2000-01-01T00:00:00", headers=admin_headers
    )
    assert "created_at" in error(response, 400, "invalid_data")


async def test_q_is_a_literal_case_insensitive_substring(client, admin_headers):
    percent = await create_seller(client, admin_headers, "50% Off", handle="fifty-percent")
    await create_seller(client, admin_headers, "50 Off", handle="fifty")
    underscore = await create_seller(client, admin_headers, "a_b", handle="ab-underscore")
    await create_seller(client, admin_headers, "axb", handle="axb")
    backslash = await create_seller(client, admin_headers, "back\\slash", handle="backslash")

    async def search(q: str) -> list[str]:
        body = ok(await client.get(f"/admin/sellers?q={quote(q)}", headers=admin_headers))
        return sorted(s["id"] for s in body["sellers"])

    assert await search("%") == [percent["id"]]
    assert await search("0% o") == [percent["id"]]
    assert await search("_") == [underscore["id"]]
    assert await search("A_B") == [underscore["id"]]
    assert await search("\\") == [backslash["id"]]
    assert len(await search("OFF")) == 2
    assert len(await search("")) == 5


async def test_pagination_and_stable_ordering(client, app, admin_headers):
    sellers = [
        await create_seller(client, admin_headers, name, handle=f"h{i}")
        for i, name in enumerate(["Same", "Same", "Aardvark", "Same", "Same", "Zebra", "Same"])
    ]
    same = sorted(s["id"] for s in sellers if s["name"] == "Same")

    async def page(order: str, offset: int, limit: int = 2) -> dict:
        url = f"/admin/sellers?order={order}&limit={limit}&offset={offset}&fields=name"
        return ok(await client.get(url, headers=admin_headers))

    ascending = []
    for offset in range(0, 8, 2):
        body = await page("name", offset)
        assert (body["count"], body["limit"], body["offset"]) == (7, 2, offset)
        ascending += body["sellers"]
    assert [s["name"] for s in ascending] == ["Aardvark", *["Same"] * 5, "Zebra"]
    assert [s["id"] for s in ascending[1:6]] == same  # ties broken by id, ascending

    descending = []
    for offset in range(0, 8, 3):
        descending += (await page("-name", offset, limit=3))["sellers"]
    assert [s["id"] for s in descending] == [s["id"] for s in reversed(ascending)]

    # Rows created in one transaction share ``created_at``: the default order still pages stably.
    async with app.state.sessionmaker() as session:
        session.add_all(SalesChannel(name=f"Channel {i}") for i in range(5))
        await session.commit()
    pages = [
        ok(await client.get(f"/admin/sales-channels?limit=1&offset={i}", headers=admin_headers))
        for i in range(5)
    ]
    channels = [c for body in pages for c in body["sales_channels"]]
    assert len({c["created_at"] for c in channels}) == 1
    assert [c["id"] for c in channels] == sorted((c["id"] for c in channels), reverse=True)

    # Default order: newest first.
    newest = ok(await client.get("/admin/sellers?limit=1", headers=admin_headers))
    assert newest["sellers"][0]["id"] == sellers[-1]["id"] and newest["count"] == 7
    beyond = ok(await client.get("/admin/sellers?offset=50", headers=admin_headers))
    assert beyond["sellers"] == [] and beyond["count"] == 7


# --- fields ------------------------------------------------------------------------------------


async def _product(client, admin_headers, channels=()) -> dict:
    seller = await create_seller(client, admin_headers, "Acme", email="private@acme.test")
    return await create_product(
        client,
        admin_headers,
        seller["id"],
        channels=channels,
        title="Boot",
        metadata={"internal": True},
        variants=[variant("S", 10, sku="B-S", inventory_quantity=3), variant("M", 11)],
    )


async def test_fields_bare_list_replaces_the_defaults(client, admin_headers):
    product = await _product(client, admin_headers)
    url = f"/admin/products/{product['id']}"
    body = ok(await client.get(f"{url}?fields=title", headers=admin_headers))
    assert body["product"] == {"id": product["id"], "title": "Boot"}
    listed = ok(await client.get("/admin/products?fields=title,handle", headers=admin_headers))
    assert listed["products"] == [{"id": product["id"], "title": "Boot", "handle": "boot"}]
    # ``id`` is always returned, even when removed.
    body = ok(await client.get(f"{url}?fields=title,-id", headers=admin_headers))
    assert body["product"] == {"id": product["id"], "title": "Boot"}


async def test_fields_plus_and_minus_modify_the_defaults(client, admin_headers):
    seller = await create_seller(client, admin_headers)
    url = f"/admin/sellers/{seller['id']}"
    body = ok(await client.get(f"{url}?fields=-metadata,-stock_location", headers=admin_headers))
    expected = {k: v for k, v in seller.items() if k not in ("metadata", "stock_location")}
    assert body["seller"] == expected
    listed = ok(
        await client.get("/admin/sellers?fields=%2Bstock_location.*", headers=admin_headers)
    )
    assert listed["sellers"][0]["stock_location"] == seller["stock_location"]
    listed = ok(
        await client.get(
            "/admin/sellers?fields=%2Bstock_location.name,-email", headers=admin_headers
        )
    )
    (row,) = listed["sellers"]
    assert row["stock_location"] == {
        "id": seller["stock_location"]["id"],
        "name": seller["stock_location"]["name"],
    }
    assert "email" not in row and row["name"] == "Acme"


async def test_fields_relations_and_nested_paths(client, admin_headers):
    product = await _product(client, admin_headers)
    url = f"/admin/products/{product['id']}"
    small, medium = product["variants"]

    body = ok(await client.get(f"{url}?fields=title,*variants", headers=admin_headers))["product"]
    assert set(body) == {"id", "title", "variants"}
    assert body["variants"][0]["sku"] == "B-S"
    assert body["variants"][0]["inventory_quantity"] == 3
    assert "prices" not in body["variants"][0]  # prices are not a default of a variant
    same = ok(await client.get(f"{url}?fields=title,variants.*", headers=admin_headers))["product"]
    assert same == body

    body = ok(await client.get(f"{url}?fields=variants.prices.amount", headers=admin_headers))[
        "product"
    ]
    assert body == {
        "id": product["id"],
        "variants": [
            {"id": small["id"], "prices": [{"id": small["prices"][0]["id"], "amount": 10}]},
            {"id": medium["id"], "prices": [{"id": medium["prices"][0]["id"], "amount": 11}]},
        ],
    }
    body = ok(
        await client.get(
            f"{url}?fields=id,seller.handle,variants.product.title", headers=admin_headers
        )
    )["product"]
    assert body["seller"] == {"id": product["seller_id"], "handle": "acme"}
    assert body["variants"][0]["product"] == {"id": product["id"], "title": "Boot"}
    body = ok(
        await client.get(f"{url}?fields=*variants.prices,-variants.sku", headers=admin_headers)
    )["product"]
    assert "sku" not in body["variants"][0] and body["variants"][0]["prices"]


async def test_unknown_fields_are_rejected(client, admin_headers):
    product = await _product(client, admin_headers)
    url = f"/admin/products/{product['id']}"
    for fields, bad in [
        ("nope", "nope"),
        ("title,nope,variants.nope", "nope, variants.nope"),
        ("+password_hash", "password_hash"),
        ("*nope", "nope.*"),
        ("title.x", "title.x"),
    ]:
        response = await client.get(f"{url}?fields={quote(fields)}", headers=admin_headers)
        error(response, 400, "invalid_data", f"Requested fields [{bad}] are not valid")
        response = await client.get(
            f"/admin/products?fields={quote(fields)}", headers=admin_headers
        )
        error(response, 400, "invalid_data", f"Requested fields [{bad}] are not valid")
    response = await client.get("/admin/api-keys?fields=token_digest", headers=admin_headers)
    error(response, 400, "invalid_data", "Requested fields [token_digest] are not valid")


async def test_store_fields_never_expose_internal_or_private_data(
    client, admin_headers, sales_channel, store_headers
):
    product = await _product(client, admin_headers, channels=(sales_channel["id"],))
    url = f"/store/products/{product['id']}"
    for fields, bad in [
        ("metadata", "metadata"),
        ("+metadata", "metadata"),
        ("+seller.email", "seller.email"),
        ("seller.status", "seller.status"),
        ("+seller.members.email", "seller.members.email"),
        ("*seller.members", "seller.members.*"),
        ("+variants.reserved_quantity", "variants.reserved_quantity"),
        ("+sales_channels.name", "sales_channels.name"),
    ]:
        for path in (url, "/store/products"):
            response = await client.get(f"{path}?fields={quote(fields)}", headers=store_headers)
            error(response, 400, "invalid_data", f"Requested fields [{bad}] are not valid")
    # ``*seller`` selects the seller's allowed defaults only.
    body = ok(await client.get(f"{url}?fields=title,*seller", headers=store_headers))["product"]
    assert body["seller"] == {
        "id": product["seller_id"],
        "name": "Acme",
        "handle": "acme",
        "logo": None,
    }
    body = ok(await client.get(f"{url}?fields=*variants", headers=store_headers))["product"]
    assert "reserved_quantity" not in body["variants"][0]
    assert "metadata" not in body and "metadata" not in body["variants"][0]


async def test_fields_must_be_a_single_string(client, admin_headers):
    response = await client.get("/admin/sellers?fields=name&fields=handle", headers=admin_headers)
    assert "fields" in error(response, 400, "invalid_data")


async def test_nul_characters_are_bad_input_not_server_errors(client, admin_headers):
    """PostgreSQL cannot store NUL: every way of sending one is a 400, never a 500."""
    seller = await create_seller(client, admin_headers)
    for body, field in [
        ({"name": "bad\u0000name"}, "name"),
        ({"name": "ok", "metadata": {"a": ["x\u0000"]}}, "metadata"),
    ]:
        response = await client.post("/admin/sales-channels", json=body, headers=admin_headers)
        message = error(response, 400, "invalid_data")
        assert message.startswith(f"Invalid request: {field}:"), message
    response = await client.post(
        "/admin/products",
        json={"title": "X", "seller_id": seller["id"], "variants": [variant("a\u0000")]},
        headers=admin_headers,
    )
    assert error(response, 400, "invalid_data").startswith("Invalid request: variants.0.title:")
    for url in ("/admin/sellers?q=%00", "/admin/sellers?handle=a%00", "/admin/sellers/sel_%00"):
        error(await client.get(url, headers=admin_headers), 400, "invalid_data")
    assert ok(await client.get("/admin/sales-channels", headers=admin_headers))["count"] == 0


async def test_out_of_range_numbers_are_bad_input(client, admin_headers):
    seller = await create_seller(client, admin_headers)
    response = await client.post(
        "/admin/products",
        json={
            "title": "X",
            "seller_id": seller["id"],
            "variants": [variant(inventory_quantity=2**40)],
        },
        headers=admin_headers,
    )
    assert "variants.0.inventory_quantity" in error(response, 400, "invalid_data")
    response = await client.post(
        "/admin/shipping-options",
        json={"name": "X", "seller_id": seller["id"], "currency_code": "usd", "amount": 1e30},
        headers=admin_headers,
    )
    assert error(response, 400, "invalid_data").startswith("Invalid request: amount:")


async def test_a_query_string_that_is_not_utf8_is_bad_input(app, admin_headers):
    """Clients percent-encode; raw bytes that are not UTF-8 get a 400, not a 500 (httpx will not
    send them, so the request goes to the ASGI app directly)."""
    import json

    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    headers = [(k.encode(), v.encode()) for k, v in admin_headers.items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/admin/sellers",
        "raw_path": b"/admin/sellers",
        "query_string": b"q=caf\xe9",
        "headers": [(b"host", b"test"), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "root_path": "",
    }
    await app(scope, receive, send)
    assert sent[0]["status"] == 400
    assert json.loads(sent[1]["body"]) == {
        "type": "invalid_data",
        "message": "Invalid request: the query string is not UTF-8",
    }
