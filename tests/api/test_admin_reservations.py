"""``/admin/reservations`` (admin-dashboard.md §7): the units checkout reserved for each order
line, as Medusa's ``AdminReservation``; fulfilling uses them up."""

from __future__ import annotations

from sqlalchemy import text

from tests.api.helpers import error, ok

FIELDS = {
    "id",
    "line_item_id",
    "location_id",
    "inventory_item_id",
    "quantity",
    "description",
    "external_id",
    "metadata",
    "created_by",
    "created_at",
    "updated_at",
}


async def test_reservations_of_order_lines(client, place_group):
    market, _, orders = await place_group(
        [(0, 0, 3), (0, 1, 1), (1, 0, 2)], sellers=2, prices=(10, 5)
    )
    a = market.sellers[0]["id"]
    v0, v1 = market.variants[a]
    order = ok(await client.get(f"/admin/orders/{orders[a]}", headers=market.admin))["order"]
    line = {i["variant_id"]: i["id"] for i in order["items"]}
    location = ok(await client.get(f"/admin/sellers/{a}", headers=market.admin))["seller"][
        "stock_location"
    ]["id"]

    async def listed(**params):
        return ok(await client.get("/admin/reservations", params=params, headers=market.admin))

    # The form's query: the order's lines, limit = their number.
    body = await listed(**{"line_item_id[]": [line[v0], line[v1]], "limit": 2})
    assert (body["count"], body["limit"], body["offset"]) == (2, 2, 0)
    by_line = {r["line_item_id"]: r for r in body["reservations"]}
    assert set(by_line) == {line[v0], line[v1]}
    first = by_line[line[v0]]
    assert set(first) == FIELDS
    assert first["location_id"] == location
    assert first["inventory_item_id"] == v0
    assert first["quantity"] == 3
    assert (first["description"], first["external_id"], first["metadata"]) == (None, None, None)
    assert first["created_by"] is None

    assert (await listed())["count"] == 3
    assert {r["line_item_id"] for r in (await listed(location_id=location))["reservations"]} == {
        line[v0],
        line[v1],
    }
    assert [r["id"] for r in (await listed(inventory_item_id=v1))["reservations"]] == [
        by_line[line[v1]]["id"]
    ]
    assert (await listed(**{"created_at[$lt]": "2000-01-01T00:00:00Z"}))["count"] == 0
    assert (await listed(**{"updated_at[$gte]": "2000-01-01T00:00:00Z"}))["count"] == 3
    assert (await listed(order="-created_at", limit=1))["count"] == 3
    error(
        await client.get("/admin/reservations", params={"q": "x"}, headers=market.admin),
        400,
        "invalid_data",
    )

    one = ok(
        await client.get(
            f"/admin/reservations/{first['id']}",
            params={"fields": "id,quantity,inventory_item_id"},
            headers=market.admin,
        )
    )["reservation"]
    assert one == {"id": first["id"], "quantity": 3, "inventory_item_id": v0}
    error(
        await client.get("/admin/reservations/resitem_nope", headers=market.admin),
        404,
        "not_found",
        "Reservation with id resitem_nope was not found",
    )

    # Fulfilling uses reservations up: 3 → 1 left, then none (no longer listed nor found).
    url = f"/admin/orders/{orders[a]}/fulfillments"
    ok(
        await client.post(
            url, json={"items": [{"id": line[v0], "quantity": 2}]}, headers=market.admin
        )
    )
    assert [r["quantity"] for r in (await listed(line_item_id=line[v0]))["reservations"]] == [1]
    ok(
        await client.post(
            url, json={"items": [{"id": line[v0], "quantity": 1}]}, headers=market.admin
        )
    )
    assert (await listed(line_item_id=line[v0]))["count"] == 0
    error(
        await client.get(f"/admin/reservations/{first['id']}", headers=market.admin),
        404,
        "not_found",
    )


async def test_every_filter_and_sort_leads_an_index(engine):
    """Reservations and stock locations (migration 0019): no filter or sort reads every row."""
    from mercato.orders.reservation_resources import RESERVATION_LIST
    from mercato.sellers.resources import STOCK_LOCATION_LIST

    for table, spec in (
        ("reservation_item", RESERVATION_LIST),
        ("stock_location", STOCK_LOCATION_LIST),
    ):
        async with engine.connect() as connection:
            leading = set(
                (
                    await connection.execute(
                        text(
                            "SELECT a.attname FROM pg_index i"
                            " JOIN pg_attribute a ON a.attrelid = i.indrelid"
                            " AND a.attnum = i.indkey[0]"
                            f" WHERE i.indrelid = '{table}'::regclass"
                        )
                    )
                ).scalars()
            )
        columns = {f.column.key for f in spec.filters.values()}
        columns |= {c.key for c in spec.sortable.values()}
        assert columns <= leading, (table, columns - leading)
