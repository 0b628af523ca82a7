"""A store ``GET`` learns the publishable key and the customer in one statement; tokens are
judged exactly as before (bad token: 401 where a customer is needed, ignored where not)."""

from __future__ import annotations

import asyncpg

from mercato.api import deps
from tests.api.checkout_helpers import build_marketplace
from tests.api.helpers import bearer, ok
from tests.api.test_order_groups import register_customer


async def test_key_and_customer_in_one_statement(
    client, admin_headers, database_url, count_statements, monkeypatch
):
    market = await build_marketplace(client, admin_headers, sellers=1)
    alice = await register_customer(client, market, "alice@example.com")
    headers = {**market.store, **alice}

    async with count_statements() as together:
        me = ok(await client.get("/store/customers/me", headers=headers))["customer"]
    together = together.count
    assert me["email"] == "alice@example.com"
    with monkeypatch.context() as patch:  # the customer looked up on its own: one more
        patch.setattr(deps, "_read_customer_id", lambda request: None)
        async with count_statements() as apart:
            assert ok(await client.get("/store/customers/me", headers=headers))["customer"] == me
    assert apart.count == together + 1
    # A route without a customer ignores the token; one that needs it still judges it.
    ok(await client.get("/store/regions", headers={**market.store, **bearer("not-a-jwt")}))
    response = await client.get(
        "/store/customers/me", headers={**market.store, **bearer("not-a-jwt")}
    )
    assert response.status_code == 401

    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE customer SET deleted_at = now() WHERE email = $1", me["email"])
    finally:
        await conn.close()
    assert (await client.get("/store/customers/me", headers=headers)).status_code == 401
    assert (await client.get("/store/order-groups", headers=headers)).status_code == 401
    ok(await client.get("/store/regions", headers=headers))  # no customer needed there
