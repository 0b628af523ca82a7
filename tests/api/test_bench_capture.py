"""The benchmark captures the exact SQL a read case runs — the driver's statements and
SQLAlchemy's — and the reference server can replay it."""

from __future__ import annotations

from benchmarks.run import ReadCase, capture_statements, replay

from tests.api.checkout_helpers import build_marketplace
from tests.api.helpers import basic, create_api_key, ok


async def test_a_cases_statements_are_captured_in_order_and_replay(
    client, admin_headers, database_url
):
    market = await build_marketplace(client, admin_headers, sellers=2)
    secret = await create_api_key(client, admin_headers, "secret")
    cases = [
        ReadCase("products", "/store/products", {"fields": "title,seller.name"}, "store", False),
        ReadCase("sellers", "/admin/sellers", {}, "admin", False),
    ]
    captured = await capture_statements(
        database_url, cases, {"store": market.store, "admin": basic(secret["token"])}
    )

    statements, body = captured["products"]
    expected = ok(
        await client.get("/store/products?fields=title,seller.name", headers=market.store)
    )
    assert ok_body(body) == expected
    sql = [s for s, _ in statements]
    assert "api_key" in sql[0]  # the publishable key first: the caller, then the page
    assert any("FROM product" in s for s in sql[1:])
    assert not any(s.split()[0].upper() in ("BEGIN", "COMMIT", "ROLLBACK") for s in sql)
    # A secret key is looked up through the ORM (SQLAlchemy's statement), the page by the driver.
    sellers_sql = [s for s, _ in captured["sellers"][0]]
    assert "FROM api_key" in sellers_sql[0]
    assert any("FROM seller" in s for s in sellers_sql[1:])

    timings = await replay(database_url, statements, iterations=3, seconds=1)
    assert timings["p50"] > 0


def ok_body(body: bytes) -> dict:
    import json

    return json.loads(body)
