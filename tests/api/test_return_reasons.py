"""Return reasons (order-changes.md §2.2, §6.2, §10, §11; marketplace-setup.md): admin CRUD, the
store's and vendors' reads, and the check returns apply to an item's ``reason_id``."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from mercato.errors import MercatoError
from mercato.return_reasons.models import ReturnReason
from mercato.return_reasons.service import check_reasons
from tests.api.helpers import PASSWORD, create_seller, error, login, ok
from tests.api.test_resources_crud import TIMESTAMP, assert_deleted, assert_gone, assert_id

URL = "/admin/return-reasons"
DEFAULT_KEYS = {
    "id",
    "value",
    "label",
    "description",
    "parent_return_reason_id",
    "metadata",
    "created_at",
    "updated_at",
}


async def create_reason(client, admin: dict, value: str, **fields: Any) -> dict:
    body = {"value": value, "label": fields.pop("label", value.replace("_", " ").title()), **fields}
    return ok(await client.post(URL, json=body, headers=admin))["return_reason"]


async def test_return_reason_crud(client, admin_headers):
    quality = await create_reason(
        client,
        admin_headers,
        "quality",
        label="Quality issue",
        description="Something is wrong with the item",
        metadata={"icon": "warning"},
    )
    assert_id(quality["id"], "rr")
    assert set(quality) == DEFAULT_KEYS
    assert quality["value"] == "quality" and quality["label"] == "Quality issue"
    assert quality["description"] == "Something is wrong with the item"
    assert quality["parent_return_reason_id"] is None and quality["metadata"] == {"icon": "warning"}
    assert TIMESTAMP.match(quality["created_at"]) and TIMESTAMP.match(quality["updated_at"])
    damaged = await create_reason(
        client, admin_headers, "damaged", parent_return_reason_id=quality["id"]
    )
    assert damaged["parent_return_reason_id"] == quality["id"] and damaged["description"] is None
    wrong_size = await create_reason(client, admin_headers, "  wrong_size  ", label="Wrong size")
    assert wrong_size["value"] == "wrong_size"  # trimmed, as names are

    url = f"{URL}/{quality['id']}"
    assert ok(await client.get(url, headers=admin_headers))["return_reason"] == quality
    tree = ok(
        await client.get(
            f"{url}?fields=value,return_reason_children.value,return_reason_children.id",
            headers=admin_headers,
        )
    )["return_reason"]
    assert tree == {
        "id": quality["id"],
        "value": "quality",
        "return_reason_children": [{"id": damaged["id"], "value": "damaged"}],
    }
    parent = ok(
        await client.get(
            f"{URL}/{damaged['id']}?fields=id,*parent_return_reason", headers=admin_headers
        )
    )["return_reason"]
    assert parent["parent_return_reason"]["value"] == "quality"
    assert set(parent["parent_return_reason"]) == DEFAULT_KEYS

    updated = ok(
        await client.post(
            url,
            json={"label": "Quality", "description": None, "metadata": {"icon": "x"}},
            headers=admin_headers,
        )
    )["return_reason"]
    assert (updated["value"], updated["label"], updated["description"]) == (
        "quality",
        "Quality",
        None,
    )
    assert updated["metadata"] == {"icon": "x"}
    assert updated["updated_at"] >= quality["updated_at"]

    listed = ok(await client.get(URL, headers=admin_headers))
    assert (listed["count"], listed["offset"], listed["limit"]) == (3, 0, 50)
    # Newest first by default.
    assert [r["id"] for r in listed["return_reasons"]] == [
        wrong_size["id"],
        damaged["id"],
        quality["id"],
    ]

    await assert_deleted(client, admin_headers, url, quality["id"], "return_reason")
    await assert_gone(client, admin_headers, url, "Return reason", quality["id"])
    listed = ok(await client.get(URL, headers=admin_headers))
    assert {r["id"] for r in listed["return_reasons"]} == {damaged["id"], wrong_size["id"]}
    for response in (
        await client.post(url, json={"label": "x"}, headers=admin_headers),
        await client.delete(url, headers=admin_headers),
        await client.get(f"{URL}/rr_missing", headers=admin_headers),
    ):
        assert error(response, 404, "not_found").startswith("Return reason with id rr_")


async def test_return_reason_list_filters_search_and_order(client, admin_headers):
    quality = await create_reason(client, admin_headers, "quality", label="Quality issue")
    damaged = await create_reason(
        client,
        admin_headers,
        "damaged",
        label="Arrived damaged",
        parent_return_reason_id=quality["id"],
    )
    late = await create_reason(client, admin_headers, "too_late", label="Arrived 100% late")
    created = quality["created_at"]

    async def ids(query: str) -> list[str]:
        body = ok(await client.get(f"{URL}?{query}", headers=admin_headers))
        return [r["id"] for r in body["return_reasons"]]

    assert await ids("value=damaged") == [damaged["id"]]
    assert await ids("label=Quality issue") == [quality["id"]]
    assert await ids(f"id[]={quality['id']}&id[]={late['id']}&order=value") == [
        quality["id"],
        late["id"],
    ]
    assert await ids(f"parent_return_reason_id={quality['id']}") == [damaged["id"]]
    assert await ids("q=ARRIVED&order=-label") == [damaged["id"], late["id"]]
    assert await ids("q=100%") == [late["id"]]  # % is literal
    assert await ids("q=too_") == [late["id"]]  # so is _
    assert await ids("order=-value") == [late["id"], quality["id"], damaged["id"]]
    assert await ids(f"created_at[$gte]={created}&order=created_at") == [
        quality["id"],
        damaged["id"],
        late["id"],
    ]
    assert await ids("updated_at[$lt]=2000-01-01T00:00:00Z") == []
    page = ok(
        await client.get(f"{URL}?limit=1&offset=1&order=value&fields=value", headers=admin_headers)
    )
    assert page == {
        "return_reasons": [{"id": quality["id"], "value": "quality"}],
        "count": 3,
        "offset": 1,
        "limit": 1,
    }
    for query, message in [
        ("description=x", "Invalid request: Unrecognized fields: 'description'"),
        ("order=description", "Order field description is not valid"),
        ("fields=nope", "Requested fields [nope] are not valid"),
        ("value[$gt]=a", "Operator $gt is not supported for value"),
        ("limit=-1", None),
        ("created_at[$gte]=yesterday", None),
    ]:
        error(
            await client.get(f"{URL}?{query}", headers=admin_headers), 400, "invalid_data", message
        )


async def test_return_reason_validation(client, admin_headers):
    for body, field in [
        ({"label": "No value"}, "value"),
        ({"value": "no_label"}, "label"),
        ({"value": "  ", "label": "Blank"}, "value"),
        ({"value": "x" * 256, "label": "Long"}, "value"),
        ({"value": "x", "label": "x", "description": "d" * 4097}, "description"),
        ({"value": "x", "label": "x", "metadata": []}, "metadata"),
        ({"value": 1, "label": "x"}, "value"),
    ]:
        message = error(
            await client.post(URL, json=body, headers=admin_headers), 400, "invalid_data"
        )
        assert field in message, (body, message)
    error(
        await client.post(URL, json={"value": "x", "label": "x", "foo": 1}, headers=admin_headers),
        400,
        "invalid_data",
        "Invalid request: Unrecognized fields: 'foo'",
    )
    error(
        await client.post(
            URL,
            json={"value": "x", "label": "x", "parent_return_reason_id": "rr_missing"},
            headers=admin_headers,
        ),
        400,
        "invalid_data",
        "Return reason with id rr_missing was not found",
    )
    gone = await create_reason(client, admin_headers, "gone")
    ok(await client.delete(f"{URL}/{gone['id']}", headers=admin_headers))
    error(
        await client.post(
            URL,
            json={"value": "x", "label": "x", "parent_return_reason_id": gone["id"]},
            headers=admin_headers,
        ),
        400,
        "invalid_data",
        f"Return reason with id {gone['id']} was not found",
    )

    reason = await create_reason(client, admin_headers, "wrong_size")
    url = f"{URL}/{reason['id']}"
    # The parent is fixed at creation (Medusa's update body has no parent).
    error(
        await client.post(url, json={"parent_return_reason_id": None}, headers=admin_headers),
        400,
        "invalid_data",
        "Invalid request: Unrecognized fields: 'parent_return_reason_id'",
    )
    for name in ("value", "label"):
        error(
            await client.post(url, json={name: None}, headers=admin_headers),
            400,
            "invalid_data",
            f"Invalid request: {name}: must not be null",
        )
    assert ok(await client.get(url, headers=admin_headers))["return_reason"] == reason
    error(await client.get(URL), 401, "unauthorized", "Unauthorized")


async def test_return_reason_writes_honour_idempotency_keys(client, app, admin_headers):
    keyed = {**admin_headers, "Idempotency-Key": "rr-1"}
    body = {"value": "damaged", "label": "Damaged"}
    first = await client.post(URL, json=body, headers=keyed)
    again = await client.post(URL, json=body, headers=keyed)
    assert first.status_code == again.status_code == 200
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == first.json()
    async with app.state.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(ReturnReason)) == 1
    error(
        await client.post(URL, json={**body, "label": "Broken"}, headers=keyed),
        400,
        "invalid_data",
        "Idempotency-Key rr-1 was already used for a different request",
    )

    reason_url = f"{URL}/{first.json()['return_reason']['id']}"
    update_key = {**admin_headers, "Idempotency-Key": "rr-2"}
    ok(await client.post(reason_url, json={"label": "Dented"}, headers=update_key))
    replayed = await client.post(reason_url, json={"label": "Dented"}, headers=update_key)
    assert replayed.headers["Idempotent-Replayed"] == "true"

    delete_key = {**admin_headers, "Idempotency-Key": "rr-3"}
    deleted = ok(await client.delete(reason_url, headers=delete_key))
    replayed = await client.delete(reason_url, headers=delete_key)
    assert replayed.headers["Idempotent-Replayed"] == "true" and replayed.json() == deleted
    # Without the key, the second delete finds nothing.
    error(await client.delete(reason_url, headers=admin_headers), 404, "not_found")


async def test_store_reads_return_reasons(client, admin_headers, store_headers):
    quality = await create_reason(client, admin_headers, "quality", metadata={"internal": 1})
    damaged = await create_reason(
        client, admin_headers, "damaged", parent_return_reason_id=quality["id"]
    )
    gone = await create_reason(client, admin_headers, "gone")
    ok(await client.delete(f"{URL}/{gone['id']}", headers=admin_headers))
    public = DEFAULT_KEYS - {"metadata"}

    listed = ok(await client.get("/store/return-reasons", headers=store_headers))
    assert (listed["count"], listed["offset"], listed["limit"]) == (2, 0, 50)
    assert [r["id"] for r in listed["return_reasons"]] == [damaged["id"], quality["id"]]
    assert all(set(r) == public for r in listed["return_reasons"])
    assert ok(
        await client.get(
            f"/store/return-reasons?parent_return_reason_id={quality['id']}&fields=value",
            headers=store_headers,
        )
    )["return_reasons"] == [{"id": damaged["id"], "value": "damaged"}]

    one = ok(await client.get(f"/store/return-reasons/{quality['id']}", headers=store_headers))
    assert one["return_reason"] == {k: v for k, v in quality.items() if k != "metadata"}
    children = ok(
        await client.get(
            f"/store/return-reasons/{quality['id']}?fields=id,*return_reason_children",
            headers=store_headers,
        )
    )["return_reason"]["return_reason_children"]
    assert [c["id"] for c in children] == [damaged["id"]] and set(children[0]) == public

    for url in (
        f"/store/return-reasons/{quality['id']}?fields=metadata",
        f"/store/return-reasons/{quality['id']}?fields=parent_return_reason.metadata",
        "/store/return-reasons?fields=+metadata",
    ):
        assert "are not valid" in error(
            await client.get(url, headers=store_headers), 400, "invalid_data"
        )
    error(
        await client.get(f"/store/return-reasons/{gone['id']}", headers=store_headers),
        404,
        "not_found",
        f"Return reason with id {gone['id']} was not found",
    )
    message = error(await client.get("/store/return-reasons"), 400, "not_allowed")
    assert message.startswith("Publishable API key required")


async def test_vendors_list_return_reasons(client, admin_headers):
    seller = await create_seller(client, admin_headers)
    ok(
        await client.post(
            f"/admin/sellers/{seller['id']}/members",
            json={"email": "staff@acme.test", "password": PASSWORD},
            headers=admin_headers,
        )
    )
    member = await login(client, "seller", "staff@acme.test", PASSWORD)
    reason = await create_reason(client, admin_headers, "wrong_size", metadata={"internal": 1})
    listed = ok(await client.get("/vendor/return-reasons?q=wrong", headers=member))
    assert listed == {
        "return_reasons": [{k: v for k, v in reason.items() if k != "metadata"}],
        "count": 1,
        "offset": 0,
        "limit": 50,
    }
    error(await client.get("/vendor/return-reasons", headers=admin_headers), 401, "unauthorized")
    # Vendors cannot manage return reasons (order-changes.md §11): no write routes for them.
    response = await client.post("/vendor/return-reasons", json={"value": "x"}, headers=member)
    assert response.status_code == 405
    assert (
        await client.get(f"/vendor/return-reasons/{reason['id']}", headers=member)
    ).status_code == 404


async def _check(app, reason_ids: list[str | None], order_id: str = "order_1") -> None:
    async with app.state.sessionmaker() as session:
        await check_reasons(session, reason_ids, order_id=order_id)


async def test_check_reasons_refuses_unknown_and_parent_reasons(client, app, admin_headers):
    quality = await create_reason(client, admin_headers, "quality")
    damaged = await create_reason(
        client, admin_headers, "damaged", parent_return_reason_id=quality["id"]
    )
    wrong_size = await create_reason(client, admin_headers, "wrong_size")
    gone = await create_reason(client, admin_headers, "gone")
    ok(await client.delete(f"{URL}/{gone['id']}", headers=admin_headers))

    await _check(app, [])
    await _check(app, [None, damaged["id"], wrong_size["id"], damaged["id"]])

    with pytest.raises(MercatoError) as raised:
        await _check(app, [damaged["id"], "rr_x", gone["id"], quality["id"]])
    assert (raised.value.type, raised.value.message) == (
        "invalid_data",
        f"Return reason with id rr_x, {gone['id']} does not exists.",
    )
    with pytest.raises(MercatoError) as raised:
        await _check(app, [wrong_size["id"], quality["id"]], "order_A")
    assert (raised.value.type, raised.value.message) == (
        "invalid_data",
        f"Cannot apply return reason with id {quality['id']} to order with id order_A. "
        "Return reason has nested reasons.",
    )
    # Only live children count: without them the parent is an ordinary reason again.
    ok(await client.delete(f"{URL}/{damaged['id']}", headers=admin_headers))
    await _check(app, [quality["id"]])
