"""The customers page of the dashboard (admin-dashboard.md §5.3, §8.2): its filters and sorts,
the customer groups and regions it reads, and a seller's members on the seller page."""

from __future__ import annotations

from sqlalchemy import text

from mercato.customers.models import Customer
from mercato.customers.resources import CUSTOMER_LIST
from tests.api.helpers import create_region, create_seller, error, ok


async def test_customer_list_filters_and_sorts(client, app, admin_headers):
    async with app.state.sessionmaker() as session:
        rows = [
            Customer(
                email="zed@example.com", first_name="Zed", last_name="Adams", has_account=True
            ),
            Customer(email="amy@example.com", first_name="Amy", last_name="Young"),
            Customer(email="bob@example.com", first_name="Bob", last_name="Moss", has_account=True),
        ]
        session.add_all(rows)
        await session.commit()
        zed, amy, bob = (row.id for row in rows)
    group = ok(
        await client.post("/admin/customer-groups", json={"name": "VIP"}, headers=admin_headers)
    )["customer_group"]
    ok(
        await client.post(
            f"/admin/customer-groups/{group['id']}/customers",
            json={"add": [amy]},
            headers=admin_headers,
        )
    )

    async def ids(**params):
        body = ok(await client.get("/admin/customers", params=params, headers=admin_headers))
        return [c["id"] for c in body["customers"]]

    assert len(await ids(limit=20, offset=0)) == 3
    assert await ids(order="first_name") == [amy, bob, zed]
    assert await ids(order="-last_name") == [amy, bob, zed]
    assert (await ids(order="-has_account"))[2] == amy
    assert await ids(has_account="false") == [amy]
    assert await ids(has_account="true", order="email") == [bob, zed]
    assert await ids(groups=group["id"]) == [amy]
    assert await ids(**{"groups[]": [group["id"]]}) == [amy]
    assert await ids(q="mos") == [bob]
    assert await ids(**{"created_at[$gte]": "2000-01-01T00:00:00Z", "order": "last_name"}) == [
        zed,
        bob,
        amy,
    ]
    error(
        await client.get("/admin/customers", params={"order": "phone"}, headers=admin_headers),
        400,
        "invalid_data",
    )
    groups = ok(await client.get("/admin/customer-groups?limit=1000", headers=admin_headers))
    assert (groups["count"], groups["limit"]) == (1, 1000)


async def test_customer_sorts_lead_an_index(engine):
    async with engine.connect() as connection:
        leading = set(
            (
                await connection.execute(
                    text(
                        "SELECT a.attname FROM pg_index i"
                        " JOIN pg_attribute a ON a.attrelid = i.indrelid"
                        " AND a.attnum = i.indkey[0]"
                        " WHERE i.indrelid = 'customer'::regclass"
                    )
                )
            ).scalars()
        )
    assert {"first_name", "last_name", "has_account"} <= leading
    assert {"first_name", "last_name", "has_account"} <= set(CUSTOMER_LIST.sortable)


async def test_regions_answer_automatic_taxes(client, admin_headers):
    region = await create_region(client, admin_headers)
    body = ok(
        await client.get(
            "/admin/regions",
            params={"limit": 1000, "fields": "id,name,automatic_taxes"},
            headers=admin_headers,
        )
    )
    assert body["regions"] == [
        {"id": region["id"], "name": region["name"], "automatic_taxes": True}
    ]


async def test_admin_seller_retrieve_shows_members(client, admin_headers):
    seller = await create_seller(client, admin_headers, "Acme")
    member = ok(
        await client.post(
            f"/admin/sellers/{seller['id']}/members",
            json={"email": "owner@acme.test", "password": "supersecret"},
            headers=admin_headers,
        )
    )["member"]
    shown = ok(
        await client.get(
            f"/admin/sellers/{seller['id']}",
            params={"fields": "+members,+stock_location"},
            headers=admin_headers,
        )
    )["seller"]
    (listed,) = shown["members"]
    assert {k: listed[k] for k in ("id", "email", "name", "role", "created_at")} == {
        k: member[k] for k in ("id", "email", "name", "role", "created_at")
    }
    assert shown["stock_location"]["name"] == "Acme warehouse"
