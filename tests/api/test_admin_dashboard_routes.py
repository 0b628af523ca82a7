"""The admin dashboard's shell and lookup routes (admin-dashboard.md §2 and §4): login
providers, feature flags, cloud auth, layouts, notifications, plugins, the empty lookups and
the currency table."""

from __future__ import annotations

import pytest

from tests.api.helpers import error, ok

EMAILPASS = {
    "id": "emailpass",
    "identifier": "emailpass",
    "display_name": "Email/Password Authentication",
    "flow": "credentials",
}


# ----------------------------------------------------------------------------- §2 providers


@pytest.mark.parametrize("actor", ["user", "customer", "seller"])
async def test_auth_providers_list_emailpass_without_credentials(client, actor):
    assert ok(await client.get(f"/auth/{actor}/providers")) == {"providers": [EMAILPASS]}


async def test_auth_providers_of_another_actor_are_not_found(client):
    assert (await client.get("/auth/vendor/providers")).status_code == 404
    assert (await client.get("/auth/admin/providers")).status_code == 404


async def test_auth_providers_refuse_a_query_string(client):
    error(
        await client.get("/auth/user/providers?x=1"),
        400,
        "invalid_data",
        "Invalid request: Unrecognized fields: 'x'",
    )


async def test_sessions_stay_out_of_scope(client):
    assert (await client.post("/auth/session")).status_code in (404, 405)
    assert (await client.delete("/auth/session")).status_code in (404, 405)


# ----------------------------------------------------------------------------- §4 shell


async def test_feature_flags_answer_before_login(client):
    assert ok(await client.get("/admin/feature-flags")) == {"feature_flags": {}}
    error(await client.get("/admin/feature-flags?rbac=1"), 400, "invalid_data")


async def test_cloud_auth_is_disabled(client):
    assert ok(await client.get("/cloud/auth")) == {"enabled": False}
    error(await client.get("/cloud/auth?x=1"), 400, "invalid_data")


NO_LAYOUT = {
    "personal_configuration": None,
    "default_configuration": None,
    "active_scope": "personal",
}


@pytest.mark.parametrize("zone", ["sidebar", "topbar", "order.list", "order.details"])
async def test_every_zone_has_no_saved_layout(client, admin_headers, zone):
    assert ok(await client.get(f"/admin/layouts/{zone}/configuration", headers=admin_headers)) == (
        NO_LAYOUT
    )


async def test_a_zone_is_at_most_255_characters(client, admin_headers):
    url = f"/admin/layouts/{'z' * 255}/configuration"
    assert ok(await client.get(url, headers=admin_headers)) == NO_LAYOUT
    url = f"/admin/layouts/{'z' * 256}/configuration"
    error(
        await client.get(url, headers=admin_headers),
        400,
        "invalid_data",
        "zone must be at most 255 characters",
    )


async def test_layouts_cannot_be_saved_or_deleted(client, admin_headers):
    url = "/admin/layouts/sidebar/configuration"
    message = "Saving dashboard layouts is not supported"
    error(
        await client.post(url, json={"configuration": {}}, headers=admin_headers),
        400,
        "not_allowed",
        message,
    )
    error(await client.delete(url, headers=admin_headers), 400, "not_allowed", message)


async def test_layout_configurations_are_an_empty_list(client, admin_headers):
    body = ok(await client.get("/admin/layouts/configurations", headers=admin_headers))
    assert body == {"layout_configurations": [], "count": 0, "offset": 0, "limit": 50}
    body = ok(
        await client.get("/admin/layouts/configurations?limit=5&offset=10", headers=admin_headers)
    )
    assert body == {"layout_configurations": [], "count": 0, "offset": 10, "limit": 5}


async def test_notifications_are_always_empty_with_list_conventions(client, admin_headers):
    url = "/admin/notifications"
    body = ok(await client.get(f"{url}?limit=20&offset=0&channel=feed", headers=admin_headers))
    assert body == {"notifications": [], "count": 0, "offset": 0, "limit": 20}
    fields = "id,to,channel,template,data,trigger_type,resource_id,resource_type,created_at"
    ok(await client.get(f"{url}?fields={fields}&order=-created_at", headers=admin_headers))
    error(
        await client.get(f"{url}?fields=id,password", headers=admin_headers),
        400,
        "invalid_data",
        "Requested fields [password] are not valid",
    )
    error(
        await client.get(f"{url}?order=title", headers=admin_headers),
        400,
        "invalid_data",
        "Order field title is not valid",
    )
    error(
        await client.get(f"{url}?limit=1001", headers=admin_headers),
        400,
        "invalid_data",
        "limit must be an integer <= 1000",
    )
    error(
        await client.get(f"{url}?foo=1", headers=admin_headers),
        400,
        "invalid_data",
        "Invalid request: Unrecognized fields: 'foo'",
    )


async def test_plugins_are_none(client, admin_headers):
    assert ok(await client.get("/admin/plugins", headers=admin_headers)) == {"plugins": []}
    error(await client.get("/admin/plugins?x=1", headers=admin_headers), 400, "invalid_data")


@pytest.mark.parametrize(
    ("path", "plural"),
    [
        ("product-types", "product_types"),
        ("product-tags", "product_tags"),
        ("refund-reasons", "refund_reasons"),
        ("price-preferences", "price_preferences"),
    ],
)
async def test_lookups_mercato_lacks_are_empty_lists(client, admin_headers, path, plural):
    url = f"/admin/{path}"
    assert ok(await client.get(url, headers=admin_headers)) == {
        plural: [],
        "count": 0,
        "offset": 0,
        "limit": 50,
    }
    body = ok(await client.get(f"{url}?limit=1000&offset=0&q=x&id=a", headers=admin_headers))
    assert body == {plural: [], "count": 0, "offset": 0, "limit": 1000}
    error(await client.get(f"{url}?bogus=1", headers=admin_headers), 400, "invalid_data")


async def test_price_preferences_accept_attribute_and_value(client, admin_headers):
    url = "/admin/price-preferences?attribute=region_id&value=reg_1"
    assert ok(await client.get(url, headers=admin_headers))["price_preferences"] == []


@pytest.mark.parametrize(
    "path",
    [
        "/admin/layouts/sidebar/configuration",
        "/admin/layouts/configurations",
        "/admin/notifications",
        "/admin/plugins",
        "/admin/product-types",
        "/admin/product-tags",
        "/admin/refund-reasons",
        "/admin/price-preferences",
        "/admin/currencies",
        "/admin/currencies/usd",
    ],
)
async def test_admin_lookups_need_an_admin(client, path):
    error(await client.get(path), 401, "unauthorized", "Unauthorized")


# ----------------------------------------------------------------------------- currencies

USD = {
    "code": "usd",
    "symbol": "$",
    "symbol_native": "$",
    "name": "US Dollar",
    "decimal_digits": 2,
    "rounding": 0,
}


async def test_a_currency_from_the_static_table(client, admin_headers):
    body = ok(await client.get("/admin/currencies/usd", headers=admin_headers))["currency"]
    assert {k: body[k] for k in USD} == USD
    assert body["deleted_at"] is None
    kwd = ok(await client.get("/admin/currencies/KWD", headers=admin_headers))["currency"]
    assert (kwd["code"], kwd["decimal_digits"]) == ("kwd", 3)
    jpy = ok(
        await client.get("/admin/currencies/jpy?fields=code,decimal_digits", headers=admin_headers)
    )
    assert jpy == {"currency": {"code": "jpy", "decimal_digits": 0}}


async def test_an_unknown_currency_is_not_found(client, admin_headers):
    error(
        await client.get("/admin/currencies/xyz", headers=admin_headers),
        404,
        "not_found",
        "Currency with code xyz was not found",
    )


async def test_the_currency_list_filters_searches_and_sorts_by_code(client, admin_headers):
    url = "/admin/currencies"
    body = ok(await client.get(url, headers=admin_headers))
    assert body["count"] > 150 and body["limit"] == 50 and body["offset"] == 0
    codes = [c["code"] for c in body["currencies"]]
    assert codes == sorted(codes) and len(codes) == 50
    body = ok(await client.get(f"{url}?code[]=usd&code[]=eur", headers=admin_headers))
    assert [c["code"] for c in body["currencies"]] == ["eur", "usd"] and body["count"] == 2
    body = ok(await client.get(f"{url}?q=dollar&order=-code&limit=1000", headers=admin_headers))
    codes = [c["code"] for c in body["currencies"]]
    assert "usd" in codes and "eur" not in codes and codes == sorted(codes, reverse=True)
    body = ok(await client.get(f"{url}?q=EU", headers=admin_headers))
    assert "eur" in [c["code"] for c in body["currencies"]]
    body = ok(await client.get(f"{url}?fields=code,name&limit=1&offset=1", headers=admin_headers))
    assert body["currencies"] == [{"code": "afn", "name": "Afghan Afghani"}]
    error(
        await client.get(f"{url}?order=name", headers=admin_headers),
        400,
        "invalid_data",
        "Order field name is not valid",
    )
    error(
        await client.get(f"{url}?symbol=$", headers=admin_headers),
        400,
        "invalid_data",
        "Invalid request: Unrecognized fields: 'symbol'",
    )
    error(
        await client.get(f"{url}?code[$gt]=a", headers=admin_headers),
        400,
        "invalid_data",
        "Operator $gt is not supported for code",
    )
