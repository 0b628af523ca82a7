"""Customer groups (promotions.md, "Customer groups"): admin CRUD, members, and a customer's
``groups`` relation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from mercato.customers.models import Customer, CustomerGroup, CustomerGroupCustomer
from tests.api.cart_helpers import customer_headers
from tests.api.helpers import error, ok
from tests.api.test_resources_crud import TIMESTAMP, assert_deleted, assert_gone, assert_id

URL = "/admin/customer-groups"
DEFAULT_KEYS = {"id", "name", "metadata", "created_at", "updated_at"}


async def create_group(client, admin: dict, name: str, **fields: Any) -> dict:
    return ok(await client.post(URL, json={"name": name, **fields}, headers=admin))[
        "customer_group"
    ]


async def guests(app, *emails: str) -> list[str]:
    """Guest customers written directly: the groups' tests need customers, not registration."""
    async with app.state.sessionmaker() as session:
        rows = [Customer(email=email) for email in emails]
        session.add_all(rows)
        await session.commit()
        return [row.id for row in rows]


async def members(client, admin: dict, group_id: str) -> list[str]:
    body = ok(await client.get(f"{URL}/{group_id}?fields=id,customers.id", headers=admin))
    return [c["id"] for c in body["customer_group"]["customers"]]


async def manage(client, admin: dict, group_id: str, **body: Any):
    return await client.post(f"{URL}/{group_id}/customers", json=body, headers=admin)


async def test_customer_group_crud(client, app, admin_headers):
    vip = await create_group(client, admin_headers, "  VIP  ", metadata={"tier": 1})
    assert_id(vip["id"], "cusgroup")
    assert set(vip) == DEFAULT_KEYS
    assert (vip["name"], vip["metadata"]) == ("VIP", {"tier": 1})  # trimmed, as names are
    assert TIMESTAMP.match(vip["created_at"]) and TIMESTAMP.match(vip["updated_at"])
    wholesale = await create_group(client, admin_headers, "Wholesale")
    assert wholesale["metadata"] is None

    url = f"{URL}/{vip['id']}"
    assert ok(await client.get(url, headers=admin_headers))["customer_group"] == vip
    assert ok(await client.get(f"{url}?fields=name,deleted_at", headers=admin_headers)) == {
        "customer_group": {"id": vip["id"], "name": "VIP", "deleted_at": None}
    }

    updated = ok(
        await client.post(
            url, json={"name": "Gold", "metadata": {"tier": 2}}, headers=admin_headers
        )
    )["customer_group"]
    assert (updated["name"], updated["metadata"]) == ("Gold", {"tier": 2})
    assert updated["created_at"] == vip["created_at"]
    assert updated["updated_at"] >= vip["updated_at"]
    # Only what the body names changes.
    renamed = ok(await client.post(url, json={"name": "VIP"}, headers=admin_headers))
    assert renamed["customer_group"]["metadata"] == {"tier": 2}
    cleared = ok(await client.post(url, json={"metadata": None}, headers=admin_headers))
    assert cleared["customer_group"]["name"] == "VIP"
    assert cleared["customer_group"]["metadata"] is None
    assert ok(await client.get(url, headers=admin_headers)) == cleared

    listed = ok(await client.get(URL, headers=admin_headers))
    assert (listed["count"], listed["offset"], listed["limit"]) == (2, 0, 50)
    # Newest first by default.
    assert [g["id"] for g in listed["customer_groups"]] == [wholesale["id"], vip["id"]]

    (ann,) = await guests(app, "ann@example.com")
    ok(await manage(client, admin_headers, vip["id"], add=[ann]))
    await assert_deleted(client, admin_headers, url, vip["id"], "customer_group")
    await assert_gone(client, admin_headers, url, "Customer group", vip["id"])
    listed = ok(await client.get(URL, headers=admin_headers))
    assert [g["id"] for g in listed["customer_groups"]] == [wholesale["id"]]
    async with app.state.sessionmaker() as session:
        row = await session.get(CustomerGroup, vip["id"])
        assert row is not None and row.deleted_at is not None  # soft deleted
        links = select(func.count()).select_from(CustomerGroupCustomer)
        assert await session.scalar(links) == 0  # its memberships went with it
    customer = ok(
        await client.get(f"/admin/customers/{ann}?fields=id,groups.id", headers=admin_headers)
    )
    assert customer["customer"] == {"id": ann, "groups": []}

    # A deleted group's name is free again.
    again = await create_group(client, admin_headers, "VIP")
    assert again["id"] != vip["id"]

    for response in (
        await client.post(url, json={"name": "x"}, headers=admin_headers),
        await client.delete(url, headers=admin_headers),
        await manage(client, admin_headers, vip["id"], add=[ann]),
    ):
        error(response, 404, "not_found", f"Customer group with id {vip['id']} was not found")
    for response in (
        await client.get(f"{URL}/cusgroup_x", headers=admin_headers),
        await client.post(f"{URL}/cusgroup_x", json={"name": "x"}, headers=admin_headers),
        await client.delete(f"{URL}/cusgroup_x", headers=admin_headers),
        await manage(client, admin_headers, "cusgroup_x", add=[]),
    ):
        error(response, 404, "not_found", "Customer group with id cusgroup_x was not found")


async def test_a_name_taken_by_a_live_group_is_a_duplicate(client, admin_headers):
    vip = await create_group(client, admin_headers, "VIP")
    other = await create_group(client, admin_headers, "Wholesale")
    message = "Customer group with name VIP already exists"
    response = await client.post(URL, json={"name": "VIP"}, headers=admin_headers)
    error(response, 422, "duplicate_error", message)
    error(
        await client.post(f"{URL}/{other['id']}", json={"name": "VIP"}, headers=admin_headers),
        422,
        "duplicate_error",
        message,
    )
    # Renaming a group to its own name is no conflict; names are case-sensitive (as the index).
    ok(await client.post(f"{URL}/{vip['id']}", json={"name": "VIP"}, headers=admin_headers))
    ok(await client.post(URL, json={"name": "vip"}, headers=admin_headers))

    # Racing creations of one name: one group, the others the same 422.
    responses = await asyncio.gather(
        *(client.post(URL, json={"name": "Race"}, headers=admin_headers) for _ in range(4))
    )
    assert sorted(r.status_code for r in responses) == [200, 422, 422, 422]
    for response in responses:
        if response.status_code == 422:
            assert response.json()["message"] == "Customer group with name Race already exists"
    listed = ok(await client.get(f"{URL}?name=Race", headers=admin_headers))
    assert listed["count"] == 1


async def test_customer_group_validation(client, admin_headers):
    for body, field in [
        ({}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 256}, "name"),
        ({"name": 5}, "name"),
        ({"name": "x", "metadata": []}, "metadata"),
    ]:
        message = error(
            await client.post(URL, json=body, headers=admin_headers), 400, "invalid_data"
        )
        assert field in message, (body, message)
    error(
        await client.post(URL, json={"name": "x", "foo": 1}, headers=admin_headers),
        400,
        "invalid_data",
        "Invalid request: Unrecognized fields: 'foo'",
    )
    group = await create_group(client, admin_headers, "VIP")
    url = f"{URL}/{group['id']}"
    error(
        await client.post(url, json={"name": None}, headers=admin_headers),
        400,
        "invalid_data",
        "Invalid request: name: must not be null",
    )
    error(
        await client.post(f"{url}/customers", json={"add": "cus_1"}, headers=admin_headers),
        400,
        "invalid_data",
    )
    error(
        await client.post(f"{url}/customers", json={"drop": []}, headers=admin_headers),
        400,
        "invalid_data",
        "Invalid request: Unrecognized fields: 'drop'",
    )
    assert ok(await client.get(url, headers=admin_headers))["customer_group"] == group
    error(await client.get(URL), 401, "unauthorized", "Unauthorized")
    error(await client.post(URL, json={"name": "x"}), 401, "unauthorized", "Unauthorized")


async def test_customer_group_list_filters_search_and_order(client, admin_headers):
    vip = await create_group(client, admin_headers, "VIP")
    wholesale = await create_group(client, admin_headers, "Wholesale buyers")
    promo = await create_group(client, admin_headers, "100%_promo")
    created = vip["created_at"]

    async def ids(query: str) -> list[str]:
        body = ok(await client.get(f"{URL}?{query}", headers=admin_headers))
        return [g["id"] for g in body["customer_groups"]]

    assert await ids("name=VIP") == [vip["id"]]
    assert await ids("name[$ne]=VIP&order=name") == [promo["id"], wholesale["id"]]
    assert await ids(f"id[]={vip['id']}&id[]={promo['id']}&order=name") == [
        promo["id"],
        vip["id"],
    ]
    assert await ids("q=BUYER") == [wholesale["id"]]
    assert await ids("q=O") == [promo["id"], wholesale["id"]]  # newest first
    assert await ids("q=0%25_p") == [promo["id"]]
    assert await ids("q=1%25") == []  # % is literal
    assert await ids("q=V_P") == []  # so is _
    assert await ids("order=-name") == [wholesale["id"], vip["id"], promo["id"]]
    assert await ids(f"created_at[$gte]={created}&order=created_at") == [
        vip["id"],
        wholesale["id"],
        promo["id"],
    ]
    assert await ids("updated_at[$lt]=2000-01-01T00:00:00Z") == []
    assert await ids("order=-updated_at") == [promo["id"], wholesale["id"], vip["id"]]
    page = ok(
        await client.get(f"{URL}?limit=1&offset=1&order=name&fields=name", headers=admin_headers)
    )
    assert page == {
        "customer_groups": [{"id": vip["id"], "name": "VIP"}],
        "count": 3,
        "offset": 1,
        "limit": 1,
    }
    for query, message in [
        ("metadata=x", "Invalid request: Unrecognized fields: 'metadata'"),
        ("order=metadata", "Order field metadata is not valid"),
        ("fields=nope", "Requested fields [nope] are not valid"),
        ("name[$gt]=a", "Operator $gt is not supported for name"),
        ("limit=1001", None),
        ("created_at[$gte]=yesterday", None),
    ]:
        error(
            await client.get(f"{URL}?{query}", headers=admin_headers), 400, "invalid_data", message
        )


async def test_adding_and_removing_members(client, app, admin_headers):
    ann, bob, cat = await guests(app, "ann@example.com", "bob@example.com", "cat@example.com")
    vip = await create_group(client, admin_headers, "VIP")
    other = await create_group(client, admin_headers, "Other")

    body = ok(await manage(client, admin_headers, vip["id"], add=[ann, bob]))
    assert body == {"customer_group": vip}  # the group, rendered with the route's fields
    assert sorted(await members(client, admin_headers, vip["id"])) == sorted([ann, bob])
    # Adding a member again (twice in one body, even) changes nothing.
    ok(await manage(client, admin_headers, vip["id"], add=[bob, bob, cat]))
    assert sorted(await members(client, admin_headers, vip["id"])) == sorted([ann, bob, cat])
    # Removing a non-member changes nothing either; other groups are untouched.
    ok(await manage(client, admin_headers, other["id"], add=[ann]))
    body = ok(
        await client.post(
            f"{URL}/{vip['id']}/customers?fields=id,customers.email",
            json={"remove": [ann, ann]},
            headers=admin_headers,
        )
    )
    assert sorted(c["email"] for c in body["customer_group"]["customers"]) == [
        "bob@example.com",
        "cat@example.com",
    ]
    ok(await manage(client, admin_headers, other["id"], remove=[bob]))
    assert await members(client, admin_headers, other["id"]) == [ann]
    ok(await manage(client, admin_headers, vip["id"], add=[ann], remove=[bob]))
    assert sorted(await members(client, admin_headers, vip["id"])) == sorted([ann, cat])
    ok(await manage(client, admin_headers, vip["id"]))  # an empty body is a no-op

    # All or nothing: one unknown id refuses the whole request.
    error(
        await manage(client, admin_headers, vip["id"], add=[bob, "cus_x"], remove=[ann]),
        400,
        "invalid_data",
        "Customer with id cus_x was not found",
    )
    error(
        await manage(client, admin_headers, vip["id"], remove=["cus_gone"]),
        400,
        "invalid_data",
        "Customer with id cus_gone was not found",
    )
    assert sorted(await members(client, admin_headers, vip["id"])) == sorted([ann, cat])
    # A deleted customer is unknown too, and no longer shows among the members.
    async with app.state.sessionmaker() as session:
        row = await session.get(Customer, cat)
        assert row is not None
        row.deleted_at = datetime.now(UTC)
        await session.commit()
    error(
        await manage(client, admin_headers, vip["id"], add=[cat]),
        400,
        "invalid_data",
        f"Customer with id {cat} was not found",
    )
    assert await members(client, admin_headers, vip["id"]) == [ann]
    error(
        await manage(client, admin_headers, vip["id"], add=[bob], remove=[bob]),
        400,
        "invalid_data",
        f"Customer with id {bob} cannot be both added and removed",
    )
    assert await members(client, admin_headers, vip["id"]) == [ann]


async def test_a_customers_groups_show_on_the_customer(client, app, admin_headers, store_headers):
    ann, bob = await guests(app, "ann@example.com", "bob@example.com")
    vip = await create_group(client, admin_headers, "VIP", metadata={"tier": 1})
    wholesale = await create_group(client, admin_headers, "Wholesale")
    ok(await manage(client, admin_headers, vip["id"], add=[ann, bob]))
    ok(await manage(client, admin_headers, wholesale["id"], add=[ann]))

    plain = ok(await client.get(f"/admin/customers/{ann}", headers=admin_headers))["customer"]
    assert "groups" not in plain  # not a default field
    customer = ok(
        await client.get(f"/admin/customers/{ann}?fields=%2Bgroups.*", headers=admin_headers)
    )["customer"]
    assert {k: v for k, v in customer.items() if k != "groups"} == plain
    assert sorted(customer["groups"], key=lambda g: g["name"]) == [vip, wholesale]
    listed = ok(
        await client.get(
            "/admin/customers?fields=id,groups.name&order=email", headers=admin_headers
        )
    )["customers"]
    assert [(c["id"], sorted(g["name"] for g in c["groups"])) for c in listed] == [
        (ann, ["VIP", "Wholesale"]),
        (bob, ["VIP"]),
    ]

    async def in_groups(query: str) -> list[str]:
        body = ok(await client.get(f"/admin/customers?{query}&order=email", headers=admin_headers))
        return [c["id"] for c in body["customers"]]

    assert await in_groups(f"groups={wholesale['id']}") == [ann]
    assert await in_groups(f"groups[]={vip['id']}&groups[]={wholesale['id']}") == [ann, bob]
    assert await in_groups(f"groups[$nin][]={wholesale['id']}") == [bob]

    # The shopper's own customer shows no groups: they are the operator's labels.
    me = await customer_headers(client, store_headers, "cat@example.com")
    me = {**store_headers, **me}
    own = ok(await client.get("/store/customers/me", headers=me))["customer"]
    ok(await manage(client, admin_headers, vip["id"], add=[own["id"]]))
    assert "groups" not in own
    error(
        await client.get("/store/customers/me?fields=%2Bgroups.*", headers=me),
        400,
        "invalid_data",
        "Requested fields [groups.*] are not valid",
    )


async def test_group_writes_honour_idempotency_keys(client, app, admin_headers):
    keyed = {**admin_headers, "Idempotency-Key": "cg-1"}
    first = await client.post(URL, json={"name": "VIP"}, headers=keyed)
    again = await client.post(URL, json={"name": "VIP"}, headers=keyed)
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == first.json()
    async with app.state.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(CustomerGroup)) == 1
    (ann,) = await guests(app, "ann@example.com")
    url = f"{URL}/{first.json()['customer_group']['id']}/customers"
    keyed = {**admin_headers, "Idempotency-Key": "cg-2"}
    ok(await client.post(url, json={"add": [ann]}, headers=keyed))
    replayed = await client.post(url, json={"add": [ann]}, headers=keyed)
    assert replayed.headers["Idempotent-Replayed"] == "true"
    error(
        await client.post(url, json={"remove": [ann]}, headers=keyed),
        400,
        "invalid_data",
        "Idempotency-Key cg-2 was already used for a different request",
    )
