"""A small marketplace with a credential for every audience and an existing id for every path
parameter, built through the HTTP API: what the OpenAPI tests send requests with."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from mercato.payments.models import Payment
from mercato.stores.service import ensure_store
from mercato.unit_of_work import UnitOfWork
from tests.api.cart_helpers import customer_headers
from tests.api.checkout_helpers import build_marketplace, cart_with_items, complete, pay
from tests.api.helpers import (
    ADMIN_EMAIL,
    PASSWORD,
    basic,
    bearer,
    create_admin,
    create_api_key,
    login,
    ok,
)

CUSTOMER_EMAIL = "shopper@world.test"
MEMBER_EMAIL = "staff@world.test"


@dataclass
class World:
    admin: dict[str, str]  # an admin user's bearer token
    secret_key: dict[str, str]  # the same admin's secret API key (HTTP basic)
    store: dict[str, str]  # a publishable key with one sales channel
    customer: dict[str, str]  # a customer's bearer token
    registration: dict[str, str]  # a registration token (no customer yet)
    member: dict[str, str]  # a member of seller 0
    ids: dict[str, str] = field(default_factory=dict)  # path parameter → an existing id


async def build_world(client, app) -> World:
    """Two sellers with a product and a shipping option each; a customer's completed checkout
    (an order group, an order per seller, one fulfilled), an open cart with a line, a return
    reason, a draft order of both sellers, and seller 0's campaign and promotion."""
    await ensure_store(UnitOfWork(app.state.sessionmaker))  # as ``mercato migrate`` does
    user_id = await create_admin(app)
    admin = await login(client, "user", ADMIN_EMAIL, PASSWORD)
    market = await build_marketplace(client, admin, sellers=2)
    seller = market.sellers[0]
    ok(
        await client.post(
            f"/admin/sellers/{seller['id']}/members",
            json={"email": MEMBER_EMAIL, "password": PASSWORD, "name": "Staff"},
            headers=admin,
        )
    )
    member = await login(client, "seller", MEMBER_EMAIL, PASSWORD)
    # Seller 0's campaign and promotion: its member's, and the admin's to see.
    campaign = ok(
        await client.post(
            "/vendor/campaigns",
            json={
                "name": "World",
                "campaign_identifier": "world",
                "budget": {"type": "usage", "limit": 10},
            },
            headers=member,
        )
    )["campaign"]
    promotion = ok(
        await client.post(
            "/vendor/promotions",
            json={
                "code": "WORLD10",
                "type": "standard",
                "campaign_id": campaign["id"],
                "application_method": {"type": "percentage", "target_type": "order", "value": 10},
                "rules": [
                    {"attribute": "region.id", "operator": "in", "values": [market.region["id"]]}
                ],
            },
            headers=member,
        )
    )["promotion"]
    secret = await create_api_key(client, admin, "secret", "fuzz")
    customer = await customer_headers(client, market.store, CUSTOMER_EMAIL)
    registration = ok(
        await client.post(
            "/auth/customer/emailpass/register",
            json={"email": "newcomer@world.test", "password": PASSWORD},
        )
    )["token"]

    items = [(market.variants[s["id"]][0], 2) for s in market.sellers]
    placed = await cart_with_items(client, market, items, headers=customer)
    await pay(client, market, placed["id"], headers=customer)
    group = ok(await complete(client, market, placed["id"], headers=customer))["order_group"]
    mine = f"seller_id={seller['id']}"
    order = ok(await client.get(f"/admin/orders?{mine}&fields=id,*items", headers=admin))
    order_id, line = order["orders"][0]["id"], order["orders"][0]["items"][0]
    fulfilled = ok(
        await client.post(
            f"/admin/orders/{order_id}/fulfillments",
            json={"items": [{"id": line["id"], "quantity": 1}]},
            headers=admin,
        )
    )["order"]
    product = ok(await client.get(f"/admin/products?{mine}&fields=id", headers=admin))
    async with app.state.sessionmaker() as session:
        payment_id = await session.scalar(select(Payment.id).limit(1))

    cart = await cart_with_items(client, market, items[:1], headers=customer)
    collection = await pay(client, market, cart["id"], headers=customer)
    keys = ok(await client.get("/admin/api-keys?type=publishable", headers=admin))["api_keys"]
    customer_id = ok(await client.get("/store/customers/me", headers={**market.store, **customer}))
    reason = ok(
        await client.post(
            "/admin/return-reasons", json={"value": "damaged", "label": "Damaged"}, headers=admin
        )
    )["return_reason"]
    draft = ok(
        await client.post(
            "/admin/draft-orders",
            json={
                "region_id": market.region["id"],
                "sales_channel_id": market.channel_id,
                "email": CUSTOMER_EMAIL,
                "items": [{"variant_id": v, "quantity": 1} for v, _ in items],
                "shipping_methods": [
                    {"shipping_option_id": market.options[s["id"]]} for s in market.sellers
                ],
            },
            headers=admin,
        )
    )["draft_order"]
    store_id = ok(await client.get("/admin/stores", headers=admin))["stores"][0]["id"]
    return World(
        admin=admin,
        secret_key=basic(secret["token"]),
        store=market.store,
        customer=customer,
        registration=bearer(registration),
        member=member,
        ids={
            "user_id": user_id,
            "customer_id": customer_id["customer"]["id"],
            "seller_id": seller["id"],
            "region_id": market.region["id"],
            "channel_id": market.channel_id,
            "key_id": keys[0]["id"],
            "product_id": product["products"][0]["id"],
            "variant_id": line["variant_id"],
            "option_id": market.options[seller["id"]],
            "group_id": group["id"],
            "order_id": order_id,
            "payment_id": payment_id,
            "fulfillment_id": fulfilled["fulfillments"][0]["id"],
            "cart_id": cart["id"],
            "line_id": cart["items"][0]["id"],
            "collection_id": collection["id"],
            "reason_id": reason["id"],
            "draft_id": draft["id"],
            "promotion_id": promotion["id"],
            "campaign_id": campaign["id"],
            "store_id": store_id,
            "code": "usd",
            "zone": "order.details",
        },
    )
